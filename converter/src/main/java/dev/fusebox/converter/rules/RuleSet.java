package dev.fusebox.converter.rules;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The conversion rules of one family, as its rule file gives them: the model types it covers, renamings (applied
 * in order, every one that matches) and converters (at most one per key), written legacy → v5.
 *
 * @param origin    where the rules were read from, for messages
 * @param bornFused whether the family has only the fused layout (gpt-oss: its checkpoints were fused from the
 *                  start), so that its checkpoints are v5 with nothing to convert, and it has no rules
 */
public record RuleSet(String family, List<String> modelTypes, String description, List<Renaming> renamings,
                      List<Converter> converters, String origin, boolean bornFused) {

    public RuleSet {
        modelTypes = List.copyOf(modelTypes);
        renamings = List.copyOf(renamings);
        converters = List.copyOf(converters);
        if (bornFused && !(renamings.isEmpty() && converters.isEmpty())) {
            throw new IllegalArgumentException("a born-fused family has nothing to convert, so no renamings or "
                    + "converters");
        }
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
     * Which way these rules would convert {@code tensors}: a key counts for a direction when a converter of that
     * direction takes it, or, for families whose rules only rename, when a renaming does. Where a converter's keys
     * are the same in both layouts, the tensor's shape read against {@code config} (config.json) counts instead.
     */
    public Evidence evidence(Collection<TensorSpec> tensors, Optional<JsonNode> config) {
        Map<String, String> shapes = KeyShapes.of(tensors.stream().map(TensorSpec::key).toList());
        DirectedRules forward = toward(Direction.TO_V5);
        DirectedRules backward = toward(Direction.TO_LEGACY);
        Evidence byShape = readShapes(tensors, shapes, config, forward, backward);
        Optional<String> legacyByConverter = first(shapes, forward::convertsSomething).or(byShape::legacyKey);
        Optional<String> v5ByConverter = first(shapes, backward::convertsSomething).or(byShape::v5Key);
        if (legacyByConverter.isPresent() || v5ByConverter.isPresent() || byShape.misfit().isPresent()
                || byShape.square().isPresent()) {
            return new Evidence(legacyByConverter, v5ByConverter, byShape.misfit(), byShape.square());
        }
        return new Evidence(first(shapes, forward::renamesSomething), first(shapes, backward::renamesSomething),
                Optional.empty(), Optional.empty());
    }

    /**
     * What the shapes of the tensors that converters with {@link LayoutShapes} take say: the first key of each
     * layout, the first that fits neither shape (or whose shapes config.json does not give), the first that fits
     * both. Every such tensor is read, not one per key shape, so that a half-converted checkpoint shows.
     */
    private static Evidence readShapes(Collection<TensorSpec> tensors, Map<String, String> shapes,
                                       Optional<JsonNode> config, DirectedRules forward, DirectedRules backward) {
        Map<String, LayoutShapes> told = new HashMap<>();
        for (Map.Entry<String, String> e : shapes.entrySet()) {
            forward.layoutShapesFor(e.getValue()).or(() -> backward.layoutShapesFor(e.getValue()))
                    .ifPresent(s -> told.put(e.getKey(), s));
        }
        Optional<String> legacy = Optional.empty();
        Optional<String> v5 = Optional.empty();
        Optional<ShapeReading.Misfit> misfit = Optional.empty();
        Optional<ShapeReading.Both> square = Optional.empty();
        for (TensorSpec t : told.isEmpty() ? List.<TensorSpec>of() : tensors) {
            LayoutShapes s = told.get(KeyShapes.shapeOf(t.key()));
            if (s == null) {
                continue;
            }
            ShapeReading r = s.read(t.key(), t.shape(), config);
            switch (r) {
                case ShapeReading.Legacy l -> legacy = legacy.or(() -> Optional.of(l.key()));
                case ShapeReading.V5 v -> v5 = v5.or(() -> Optional.of(v.key()));
                case ShapeReading.Both b -> square = square.or(() -> Optional.of(b));
                case ShapeReading.Misfit m -> misfit = misfit.or(() -> Optional.of(m));
            }
        }
        return new Evidence(legacy, v5, misfit, square);
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
     * read backwards matches every dense model's keys. Each rule is asked only about the keys that hold its
     * literal text, so the cost grows with the keys' length, not with keys times rules.
     */
    Fit fit(KeyText keys) {
        Fit best = new Fit(0, Integer.MAX_VALUE);
        for (Direction d : Direction.values()) {
            DirectedRules rules = toward(d);
            Set<String> renamed = new HashSet<>();
            if (rules.renamesBeforeConverting()) {
                for (Renaming r : rules.renamings()) {
                    renamed.addAll(keys.holding(r.requiredText().orElse("")));
                }
            }
            int converted = 0;
            int keyTold = 0;
            for (Converter c : rules.converters()) {
                if (c.shapeTellsLayout()) {
                    continue;
                }
                keyTold++;
                if (takesSome(rules, c, keys, renamed)) {
                    converted++;
                }
            }
            if (converted == 0 && !converters.isEmpty()) {
                continue;
            }
            int used = converted;
            for (Renaming r : rules.renamings()) {
                if (keys.holding(r.requiredText().orElse("")).stream().anyMatch(r::matches)) {
                    used++;
                }
            }
            Fit fit = new Fit(used, rules.renamings().size() + keyTold - used);
            if (fit.betterThan(best)) {
                best = fit;
            }
        }
        return best;
    }

    /** Whether {@code c} takes one of the keys: a renamed key as renamed, any other as it is. */
    private static boolean takesSome(DirectedRules rules, Converter c, KeyText keys, Set<String> renamed) {
        for (String k : renamed) {
            String input = rules.converterInput(k);
            if (c.sources().stream().anyMatch(p -> p.match(input) != null)) {
                return true;
            }
        }
        for (KeyPattern p : c.sources()) {
            for (String k : keys.holding(p.requiredText())) {
                if (!renamed.contains(k) && p.match(k) != null) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Keys that show the legacy layout and the v5 layout under these rules (one example of each), and where shapes
     * tell the layout: the first tensor whose shape fits neither layout or cannot be read ({@code misfit}), and the
     * first whose shape is the same in both ({@code square}).
     */
    public record Evidence(Optional<String> legacyKey, Optional<String> v5Key, Optional<ShapeReading.Misfit> misfit,
                           Optional<ShapeReading.Both> square) {
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
