package dev.fusebox.converter.rules;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A family's rules in one direction, applied as transformers applies them: toward v5, every renaming in order
 * and then at most one converter on the renamed key; back toward legacy, the inverted converter first and then
 * the inverted renamings in reverse order (on the keys the converter produces).
 */
public record DirectedRules(RuleSet rules, Direction direction, List<Renaming> renamings,
                            List<Converter> converters) {

    public DirectedRules {
        renamings = List.copyOf(renamings);
        converters = List.copyOf(converters);
    }

    /** A converter source pattern that took a key, and where. */
    public record ConverterMatch(int converter, int source, KeyPattern.Match match) {
    }

    /** {@code key} through every renaming, in order. */
    public String rename(String key) {
        String k = key;
        for (Renaming r : renamings) {
            k = r.apply(k);
        }
        return k;
    }

    /** Whether renamings run before converters (toward v5) or after them (toward legacy). */
    public boolean renamesBeforeConverting() {
        return direction == Direction.TO_V5;
    }

    /** The key a converter pattern is matched against: renamed first toward v5, as is toward legacy. */
    public String converterInput(String key) {
        return renamesBeforeConverting() ? rename(key) : key;
    }

    /** The converter that takes {@code key}, if any; a key that two patterns take is refused. */
    public Optional<ConverterMatch> converterFor(Path file, String key) throws FuseboxException {
        return converterFor(file, key, converterInput(key));
    }

    /** {@link #converterFor(Path, String)} for a caller that has made {@code input}, the key's converter input. */
    public Optional<ConverterMatch> converterFor(Path file, String key, String input) throws FuseboxException {
        ConverterMatch found = null;
        for (int c = 0; c < converters.size(); c++) {
            List<KeyPattern> sources = converters.get(c).sources();
            for (int s = 0; s < sources.size(); s++) {
                KeyPattern.Match m = sources.get(s).match(input);
                if (m == null) {
                    continue;
                }
                if (found != null) {
                    throw new FuseboxException(Problem.AMBIGUOUS_RULES, file, key, "two rules of " + rules
                            + " match it: '" + converters.get(found.converter).sources().get(found.source) + "' and '"
                            + sources.get(s) + "'; a key may feed one converter only");
                }
                found = new ConverterMatch(c, s, m);
            }
        }
        return Optional.ofNullable(found);
    }

    /**
     * Refuses a key that a converter would take but for an expert index with a leading zero: read as another
     * number it could collide with its sibling, left alone it would stay unfused beside the fused tensor.
     */
    public void checkCanonicalIndex(Path file, String key, String input) throws FuseboxException {
        for (Converter c : converters) {
            for (KeyPattern p : c.sources()) {
                KeyPattern.Match m = p.paddedMatch(input);
                if (m != null) {
                    throw new FuseboxException(Problem.INVALID_RULES, file, key, "its expert number has a leading "
                            + "zero, so '" + p + "' of " + rules + " cannot take it; rename it with the number "
                            + "written plainly (experts.1., not experts.01.)");
                }
            }
        }
    }

    /** The key a converter output pattern names for a group, renamed where renamings follow the converter. */
    public String outputKey(KeyPattern target, KeyPattern.Match group, int index) {
        String key = target.expand(group.prefix(), group.suffix(), index);
        return renamesBeforeConverting() ? key : rename(key);
    }

    /** Whether a converter whose key tells the layout takes {@code key}. */
    boolean convertsSomething(String key) {
        String input = converterInput(key);
        for (Converter c : converters) {
            if (c.shapeTellsLayout()) {
                continue;
            }
            for (KeyPattern p : c.sources()) {
                if (p.match(input) != null) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The layout shapes of the first converter that takes {@code key} and tells its layout by its shape. */
    Optional<LayoutShapes> layoutShapesFor(String key) {
        String input = converterInput(key);
        for (Converter c : converters) {
            if (c.shapeTellsLayout() && c.sources().getFirst().match(input) != null) {
                return c.layoutShapes();
            }
        }
        return Optional.empty();
    }

    boolean renamesSomething(String key) {
        for (Renaming r : renamings) {
            if (r.matches(key)) {
                return true;
            }
        }
        return false;
    }
}
