package dev.fusebox.converter.convert;

import dev.fusebox.converter.safetensors.TensorSpec;

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
     * How one tensor's values compare: the number of elements whose bytes differ and, for float dtypes, the
     * largest absolute difference (infinite where one side is NaN and the other is not; NaN for other dtypes).
     *
     * @param at     where the largest difference is (the first differing element for other dtypes), one index per
     *               dimension; empty when the values are identical
     * @param aValue A's value there (NaN for dtypes that are not decoded, or when identical)
     * @param bValue B's value there
     */
    public record ValueDiff(String key, long differingElements, double maxAbsDiff, List<Long> at, double aValue,
                            double bValue) {

        public ValueDiff {
            at = List.copyOf(at);
        }

        public boolean identical() {
            return differingElements == 0;
        }
    }

    /** Whether the two checkpoints hold the same tensors (and, when compared, the same values). */
    public boolean identical() {
        return onlyInA.isEmpty() && onlyInB.isEmpty() && changed.isEmpty()
                && values.map(v -> v.stream().allMatch(ValueDiff::identical)).orElse(true);
    }
}
