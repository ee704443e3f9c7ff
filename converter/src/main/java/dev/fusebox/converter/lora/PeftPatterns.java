package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.rules.BoundedKey;
import dev.fusebox.converter.rules.RunawayPatternException;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * PEFT's reading of {@code rank_pattern} and {@code alpha_pattern}: the first key, in the config's order, for which
 * {@code re.match(rf"(.*\.)?({key})$", name)} holds decides; {@code name} is a module's name for a targeted module
 * and the parameter's full name ({@code model.layers.0.mlp.experts.gate_up_proj}) for a targeted parameter.
 * The scale of a LoRA is {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA.
 */
public final class PeftPatterns {

    private static final Map<String, Pattern> COMPILED = new ConcurrentHashMap<>();

    private PeftPatterns() {
    }

    /** The pattern key that decides for {@code name}, if any. */
    public static Optional<String> decidingKey(Path file, Iterable<String> keys, String name) throws FuseboxException {
        for (String key : keys) {
            if (matches(file, key, name)) {
                return Optional.of(key);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether pattern {@code key} matches {@code name} as PEFT tests it, under the budget rule files' renamings
     * run under ({@link BoundedKey}): a pattern that backtracks without end or recurses past the stack is refused.
     */
    public static boolean matches(Path file, String key, String name) throws FuseboxException {
        Pattern p = COMPILED.get(key);
        if (p == null) {
            try {
                p = Pattern.compile("(?:.*\\.)?(?:" + key + ")");
            } catch (PatternSyntaxException e) {
                throw new FuseboxException(Problem.INVALID_CONFIG, file, "the pattern '" + key
                        + "' is not a regular expression Fusebox can read (" + e.getDescription() + ")");
            }
            COMPILED.put(key, p);
        }
        String shown = "the pattern '" + key + "' of the adapter's rank_pattern or alpha_pattern";
        try {
            return p.matcher(new BoundedKey(name, shown)).matches();
        } catch (RunawayPatternException e) {
            throw new FuseboxException(Problem.INVALID_CONFIG, file, e.getMessage());
        } catch (StackOverflowError e) {
            throw new FuseboxException(Problem.INVALID_CONFIG, file, BoundedKey.outOfStack(shown, name).getMessage());
        }
    }

    /** The rank PEFT gives {@code name} under {@code config}. */
    public static int rank(AdapterConfig config, String name) throws FuseboxException {
        Optional<String> key = decidingKey(config.file(), config.rankPattern().keySet(), name);
        return key.map(k -> config.rankPattern().get(k)).orElse(config.r());
    }

    /** The alpha PEFT gives {@code name} under {@code config}. */
    public static double alpha(AdapterConfig config, String name) throws FuseboxException {
        Optional<String> key = decidingKey(config.file(), config.alphaPattern().keySet(), name);
        return key.map(k -> config.alphaPattern().get(k)).orElse(config.loraAlpha());
    }

    /** {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA. */
    public static double scale(boolean rslora, int rank, double alpha) {
        return rslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** The alpha that gives {@code scale} at {@code rank}. */
    public static double alphaFor(boolean rslora, int rank, double scale) {
        return rslora ? scale * Math.sqrt(rank) : scale * rank;
    }

    /**
     * The alpha that keeps the scale of a LoRA of rank {@code rank} and alpha {@code alpha} when it becomes part of
     * one of rank {@code newRank}: {@code alpha · newRank / rank}, or {@code alpha · sqrt(newRank / rank)} with
     * rsLoRA (so a fused gate/up of rank 2r gets {@code alpha · sqrt(2)}, not PEFT's {@code 2 · alpha}).
     */
    public static double keepScale(boolean rslora, int rank, double alpha, int newRank) {
        if (newRank == rank) {
            return alpha;
        }
        return rslora ? alpha * Math.sqrt((double) newRank / rank) : alpha * newRank / rank;
    }

    /** {@code text} as a regular expression that matches exactly it (as Python's {@code re.escape} would write it). */
    public static String escape(String text) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (".^$*+?()[]{}|\\".indexOf(c) >= 0) {
                s.append('\\');
            }
            s.append(c);
        }
        return s.toString();
    }

    /** Whether two alphas (or scales) are the same number up to the rounding of the arithmetic that made them. */
    public static boolean same(double a, double b) {
        return a == b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
    }
}
