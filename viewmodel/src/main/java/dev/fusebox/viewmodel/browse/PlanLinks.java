package dev.fusebox.viewmodel.browse;

import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.Placement;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.plan.SourceUse;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The links a conversion plan makes between its source side and its target side: a source tensor links to every
 * target it feeds, a target to every source it is made from, each with the part of the target concerned (the
 * placement's slice, as Python writes it) or nothing when the target is the source copied whole.
 */
public final class PlanLinks implements TensorLinks {

    private final List<Entry> plans;

    /** One plan and the side its sources are on. */
    public record Entry(ConversionPlan plan, Side sourceSide) {
    }

    /** Links of these plans; made off the UI thread, as it indexes each plan's sources. */
    public PlanLinks(List<Entry> plans) {
        this.plans = List.copyOf(plans);
        this.plans.forEach(e -> e.plan().indexSources());
    }

    @Override
    public List<TensorLink> of(Side side, String key) {
        List<TensorLink> out = new ArrayList<>();
        for (Entry e : plans) {
            if (side == e.sourceSide()) {
                for (SourceUse use : e.plan().uses(key)) {
                    out.add(new TensorLink(use.target().key(), region(use.target(), use.placement())));
                }
            } else {
                Optional<PlannedTarget> target = e.plan().target(key);
                if (target.isEmpty()) {
                    continue;
                }
                List<Placement> feeding = e.plan().feeding(key);
                if (feeding.isEmpty()) {
                    for (TensorSpec s : target.get().sources()) {
                        out.add(new TensorLink(s.key(), ""));
                    }
                }
                for (Placement p : feeding) {
                    out.add(new TensorLink(p.source().key(), region(target.get(), Optional.of(p))));
                }
            }
        }
        return out;
    }

    /**
     * The part of the larger tensor of the two that the link concerns: where a whole source lands in a fused target,
     * or which part of a fused source a whole target takes; nothing for a tensor copied whole.
     */
    private static String region(PlannedTarget target, Optional<Placement> placement) {
        if (target.copiedWhole() || placement.isEmpty()) {
            return "";
        }
        Placement p = placement.get();
        boolean wholeTarget = p.elementCount() == target.shape().elementCount();
        if (p.coversWholeSource() && wholeTarget) {
            return "";
        }
        return p.coversWholeSource() ? p.targetSlice(target.shape()) : p.sourceSlice();
    }
}
