package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiPredicate;

/**
 * Writes {@code rank_pattern} and {@code alpha_pattern} so that PEFT's lookup ({@link PeftPatterns}) gives every
 * target exactly the rank and alpha it needs. Entries carried over from the source config come last; before them,
 * one pattern per group of targets that share a value ({@code .*\.gate_up_proj}, as PEFT writes it); before those,
 * exact names for any target still wrong. PEFT takes the first key that matches, so that order decides.
 */
final class PatternWriter {

    /** A target (a module name, or a parameter's full name) and the rank and alpha it must get. */
    record Need(String name, Optional<String> group, int rank, double alpha) {
    }

    /** The two pattern maps, in the order PEFT must read them. */
    record Patterns(Map<String, Integer> rank, Map<String, Double> alpha) {
    }

    private PatternWriter() {
    }

    static Patterns write(Path file, int r, double alpha, Map<String, Integer> carriedRank,
                          Map<String, Double> carriedAlpha, List<Need> needs) throws FuseboxException {
        Map<String, Integer> rank = solve(file, r, carriedRank, needs, Need::rank, Integer::equals);
        Map<String, Double> alphas = solve(file, alpha, carriedAlpha, needs, Need::alpha, PeftPatterns::same);
        return new Patterns(rank, alphas);
    }

    private static <V> Map<String, V> solve(Path file, V fallback, Map<String, V> carried, List<Need> needs,
                                            java.util.function.Function<Need, V> wanted, BiPredicate<V, V> same)
            throws FuseboxException {
        Map<String, V> groups = new LinkedHashMap<>();
        Map<String, V> exact = new LinkedHashMap<>();
        Map<String, List<Need>> byGroup = new LinkedHashMap<>();
        for (Need n : needs) {
            n.group().ifPresent(g -> byGroup.computeIfAbsent(g, k -> new ArrayList<>()).add(n));
        }
        for (Map.Entry<String, List<Need>> g : byGroup.entrySet()) {
            V first = wanted.apply(g.getValue().getFirst());
            boolean shared = g.getValue().stream().allMatch(n -> same.test(wanted.apply(n), first));
            if (!shared) {
                continue;
            }
            Map<String, V> now = compose(exact, groups, carried);
            for (Need n : g.getValue()) {
                if (!same.test(lookup(file, now, n.name(), fallback), first)) {
                    groups.put(g.getKey(), first);
                    break;
                }
            }
        }
        for (Need n : needs) {
            Map<String, V> now = compose(exact, groups, carried);
            if (!same.test(lookup(file, now, n.name(), fallback), wanted.apply(n))) {
                exact.put(PeftPatterns.escape(n.name()), wanted.apply(n));
            }
        }
        return compose(exact, groups, carried);
    }

    private static <V> Map<String, V> compose(Map<String, V> exact, Map<String, V> groups, Map<String, V> carried) {
        Map<String, V> out = new LinkedHashMap<>(exact);
        groups.forEach(out::putIfAbsent);
        carried.forEach(out::putIfAbsent);
        return out;
    }

    private static <V> V lookup(Path file, Map<String, V> patterns, String name, V fallback) throws FuseboxException {
        Optional<String> key = PeftPatterns.decidingKey(file, patterns.keySet(), name);
        return key.map(patterns::get).orElse(fallback);
    }
}
