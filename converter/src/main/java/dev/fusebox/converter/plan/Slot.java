package dev.fusebox.converter.plan;

import java.util.List;

/**
 * One slot of a converter while its operations run: what it holds (one assembly per expert while it is a list of
 * experts, else one), and whether its target's key takes an expert's index.
 */
record Slot(List<Assembly> tensors, boolean perExpert) {

    Slot {
        tensors = List.copyOf(tensors);
    }

    /** The one tensor of a slot that is not a list of experts. */
    Assembly only() {
        return tensors.getFirst();
    }

    /** This slot holding {@code changed} instead, its key indexed as before. */
    Slot holding(List<Assembly> changed) {
        return new Slot(changed, perExpert);
    }
}
