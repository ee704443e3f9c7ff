package dev.fusebox.converter.rules;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The conversion rules of one family, as its rule file gives them: the model types it covers, renamings (applied
 * in order, every one that matches) and converters (at most one per key), written legacy → v5.
 *
 * @param origin where the rules were read from, for messages
 */
public record RuleSet(String family, List<String> modelTypes, String description, List<Renaming> renamings,
                      List<Converter> converters, String origin) {

    public RuleSet {
        modelTypes = List.copyOf(modelTypes);
        renamings = List.copyOf(renamings);
        converters = List.copyOf(converters);
    }

    /** The rules as they run in {@code direction}. */
    public DirectedRules toward(Direction direction) {
        if (direction == Direction.TO_V5) {
            return new DirectedRules(this, direction, renamings, converters);
        }
        List<Renaming> back = new ArrayList<>();
        for (Renaming r : renamings.reversed()) {
            r.reversed().ifPresent(back::add);
        }
        return new DirectedRules(this, direction, back, converters.stream().map(Converter::reversed).toList());
    }

    /**
     * Which way these rules would convert {@code keys}: a key counts for a direction when a converter of that
     * direction takes it, or, for families whose rules only rename, when a renaming does.
     */
    public Evidence evidence(Collection<String> keys) {
        return evidence(KeyShapes.of(keys));
    }

    private Evidence evidence(Map<String, String> shapes) {
        DirectedRules forward = toward(Direction.TO_V5);
        DirectedRules backward = toward(Direction.TO_LEGACY);
        Optional<String> legacyByConverter = first(shapes, forward::convertsSomething);
        Optional<String> v5ByConverter = first(shapes, backward::convertsSomething);
        if (legacyByConverter.isPresent() || v5ByConverter.isPresent()) {
            return new Evidence(legacyByConverter, v5ByConverter);
        }
        return new Evidence(first(shapes, forward::renamesSomething), first(shapes, backward::renamesSomething));
    }

    /** The real key of the first shape that passes {@code test}. */
    private static Optional<String> first(Map<String, String> shapes, Predicate<String> test) {
        for (Map.Entry<String, String> e : shapes.entrySet()) {
            if (test.test(e.getKey())) {
                return Optional.of(e.getValue());
            }
        }
        return Optional.empty();
    }

    /**
     * How well these rules fit {@code keys} (best given as {@link KeyShapes}), in the direction they fit best: how
     * many of their renamings and converters match some key, and how many match none. As in {@link #evidence},
     * renamings alone fit only a family whose rules only rename: nemotron_h's {@code backbone.} → {@code model.}
     * read backwards matches every dense model's keys.
     */
    Fit fit(Collection<String> keys) {
        Fit best = new Fit(0, Integer.MAX_VALUE);
        for (Direction d : Direction.values()) {
            DirectedRules rules = toward(d);
            int converted = 0;
            for (Converter c : rules.converters()) {
                if (keys.stream().anyMatch(k -> c.sources().stream()
                        .anyMatch(p -> p.find(rules.converterInput(k)).isPresent()))) {
                    converted++;
                }
            }
            if (converted == 0 && !converters.isEmpty()) {
                continue;
            }
            int used = converted;
            for (Renaming r : rules.renamings()) {
                if (keys.stream().anyMatch(r::matches)) {
                    used++;
                }
            }
            Fit fit = new Fit(used, rules.renamings().size() + rules.converters().size() - used);
            if (fit.betterThan(best)) {
                best = fit;
            }
        }
        return best;
    }

    /** Keys that show the legacy layout and the v5 layout under these rules (one example of each). */
    public record Evidence(Optional<String> legacyKey, Optional<String> v5Key) {
    }

    /** Fewer rules that match nothing is better; then more rules that match something. */
    record Fit(int used, int unused) {
        boolean betterThan(Fit o) {
            return unused != o.unused ? unused < o.unused : used > o.used;
        }
    }

    @Override
    public String toString() {
        return family + " rules (" + origin + ")";
    }
}
