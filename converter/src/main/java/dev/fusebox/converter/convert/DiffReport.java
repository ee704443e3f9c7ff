package dev.fusebox.converter.convert;

import dev.fusebox.converter.tensor.TensorSpec;

import java.util.List;
import java.util.Optional;

/**
 * How checkpoint B differs from checkpoint A, seen in A's layout: tensors only A has, tensors only B has (with the
 * B tensors they are made from), tensors whose dtype or shape changed, how many agree, and, when values were
 * compared, how the bytes of each agreeing tensor compare.
 *
 * @param mapping how B was read in A's layout (the plan's rules and direction), empty when no mapping was needed
 */
public record DiffReport(String a, String b, Optional<String> mapping, int same, List<TensorSpec> onlyInA,
                         List<OnlyInB> onlyInB, List<Change> changed, Optional<List<ValueDiff>> values) {

    public DiffReport {
        onlyInA = List.copyOf(onlyInA);
        onlyInB = List.copyOf(onlyInB);
        changed = List.copyOf(changed);
        values = values.map(List::copyOf);
    }

    /** A tensor only B has, under its key in A's layout, and the B tensors it comes from. */
    public record OnlyInB(TensorSpec spec, List<String> from) {
    }

    /** A tensor both have under one key, with another dtype or shape. */
    public record Change(String key, TensorSpec a, TensorSpec b) {
    }

    /**
     * How one tensor's values compare, as a whole and, for a tensor that fuses several of the other layout's
     * tensors (a v5 {@code gate_up_proj}), part by part: each part named by the tensor it is in the other layout.
     *
     * @param at     where the largest difference is (the first differing element for other dtypes), one index per
     *               dimension; empty when the values are identical
     * @param aValue A's value there (NaN for dtypes that are not decoded, or when identical)
     * @param bValue B's value there
     */
    public record ValueDiff(String key, Difference whole, List<PartDiff> parts, List<Long> at, double aValue,
                            double bValue) {
        public ValueDiff {
            parts = List.copyOf(parts);
            at = List.copyOf(at);
        }

        public boolean identical() {
            return whole.identical();
        }

        public long differingElements() {
            return whole.differingElements();
        }

        /** The largest |a − b| (infinite where one side is NaN and the other is not; NaN for other dtypes). */
        public double maxAbsDiff() {
            return whole.maxAbsDiff();
        }
    }

    /** One part of a fused tensor: the other layout's tensor it holds, where it lies, and how it compares. */
    public record PartDiff(String name, String slice, Difference difference) {
    }

    /** Whether the two checkpoints hold the same tensors (and, when compared, the same values). */
    public boolean identical() {
        return onlyInA.isEmpty() && onlyInB.isEmpty() && changed.isEmpty()
                && values.map(v -> v.stream().allMatch(ValueDiff::identical)).orElse(true);
    }
}
