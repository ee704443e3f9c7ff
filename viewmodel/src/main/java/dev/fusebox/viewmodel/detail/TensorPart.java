package dev.fusebox.viewmodel.detail;

import java.util.Arrays;

/**
 * A box of a tensor that one other tensor of a conversion fills or takes: in a fused {@code gate_up_proj
 * [E, 2I, H]} made from per-expert tensors, expert 1's {@code w3} is the box starting at {@code [1, I, 0]} with
 * extent {@code [1, I, H]}.
 *
 * @param label  what distinguishes the other tensor from its siblings, e.g. {@code 1.w3}
 * @param start  the box's first index along each axis of this tensor
 * @param extent the box's length along each axis
 */
public record TensorPart(String label, long[] start, long[] extent) {

    public TensorPart {
        if (start.length != extent.length) {
            throw new IllegalArgumentException("a box needs a start and an extent per axis");
        }
        start = start.clone();
        extent = extent.clone();
    }

    @Override
    public long[] start() {
        return start.clone();
    }

    @Override
    public long[] extent() {
        return extent.clone();
    }

    public long start(int axis) {
        return start[axis];
    }

    public long extent(int axis) {
        return extent[axis];
    }

    /** Whether index {@code i} of {@code axis} lies in the box. */
    public boolean contains(int axis, long i) {
        return i >= start[axis] && i < start[axis] + extent[axis];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorPart p && label.equals(p.label) && Arrays.equals(start, p.start)
                && Arrays.equals(extent, p.extent);
    }

    @Override
    public int hashCode() {
        return label.hashCode() * 31 + Arrays.hashCode(start);
    }

    @Override
    public String toString() {
        return label + " " + Arrays.toString(start) + "+" + Arrays.toString(extent);
    }
}
