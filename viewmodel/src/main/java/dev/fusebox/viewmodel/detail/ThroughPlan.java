package dev.fusebox.viewmodel.detail;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.viewmodel.browse.Side;

/**
 * A conversion of an open checkpoint that the detail pane can read through: the tensors it would write come from
 * {@code source}'s bytes by the plan's placements, so their values are known before anything is written.
 *
 * @param source the open checkpoint the plan reads
 * @param plan   a plan of {@code source}
 */
public record ThroughPlan(Checkpoint source, ConversionPlan plan) {

    /** The side of the model screen that shows the tensors the plan would write. */
    public Side targetSide() {
        return Side.of(plan.to());
    }

    /** The side that shows the tensors the plan reads. */
    public Side sourceSide() {
        return Side.of(plan.from());
    }

    /** Whether the plan reads only {@code source} (a merge reads other checkpoints too and is not read through). */
    public boolean readable() {
        return plan.otherInputs().isEmpty();
    }
}
