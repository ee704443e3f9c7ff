package dev.fusebox.viewmodel.detail;

import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.Placement;
import dev.fusebox.converter.plan.SourceUse;
import dev.fusebox.viewmodel.browse.Side;

import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a fused tensor, read from the plans of what is open: the boxes its per-expert sources fill when a
 * plan writes it, or the boxes its per-expert targets take when a plan reads it. A tensor made from or split into
 * fewer than two others has no parts, and neither has one whose parts interleave (strided boxes).
 */
final class TensorParts {

    private TensorParts() {
    }

    static List<TensorPart> of(List<ThroughPlan> plans, Side side, String key) {
        for (ThroughPlan p : plans) {
            ConversionPlan plan = p.plan();
            List<TensorPart> parts = p.targetSide() == side && plan.target(key).isPresent() ? filledBy(plan, key)
                    : p.sourceSide() == side ? takenBy(plan, key) : List.of();
            if (!parts.isEmpty()) {
                return parts;
            }
        }
        return List.of();
    }

    private static List<TensorPart> filledBy(ConversionPlan plan, String key) {
        List<Placement> feeding = plan.feeding(key);
        List<String> keys = feeding.stream().map(f -> f.source().key()).toList();
        List<String> labels = Labels.distinct(keys);
        List<TensorPart> out = new ArrayList<>();
        for (int i = 0; i < feeding.size(); i++) {
            Placement f = feeding.get(i);
            long[] start = new long[f.rank()];
            long[] extent = new long[f.rank()];
            for (int a = 0; a < f.rank(); a++) {
                if (f.extent(a) > 1 && f.step(a) != 1) {
                    return List.of();
                }
                start[a] = f.targetStart(a);
                extent[a] = f.extent(a);
            }
            out.add(new TensorPart(labels.get(i), start, extent));
        }
        return out.size() < 2 ? List.of() : out;
    }

    private static List<TensorPart> takenBy(ConversionPlan plan, String key) {
        List<SourceUse> uses = plan.uses(key).stream().filter(u -> u.placement().isPresent()).toList();
        List<String> labels = Labels.distinct(uses.stream().map(u -> u.target().key()).toList());
        List<TensorPart> out = new ArrayList<>();
        for (int i = 0; i < uses.size(); i++) {
            Placement p = uses.get(i).placement().orElseThrow();
            int rank = p.source().shape().rank();
            long[] start = new long[rank];
            long[] extent = new long[rank];
            for (int a = 0; a < rank; a++) {
                start[a] = p.sourceStart(a);
                extent[a] = 1;
            }
            for (int t = 0; t < p.rank(); t++) {
                int a = p.sourceAxis(t);
                if (a < 0 || p.extent(t) == 1) {
                    continue;
                }
                if (p.step(t) != 1 || extent[a] != 1) {
                    return List.of();
                }
                extent[a] = p.extent(t);
            }
            out.add(new TensorPart(labels.get(i), start, extent));
        }
        return out.size() < 2 ? List.of() : out;
    }
}
