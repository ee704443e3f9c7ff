package dev.fusebox.converter.forward;

import dev.fusebox.converter.tensor.Dtype;

import java.util.Collection;
import java.util.Comparator;

/**
 * How far the two sides may differ and still pass. Both sides compute in float32, so a conversion that moves bytes
 * without touching them agrees far inside any of these (bit for bit, in practice). What the tolerance must admit
 * is a conversion that re-rounds weights to their storage type, as merging an adapter does; what it must reject is
 * a change of meaning (swapped experts, a LoRA scale off by √2), which moves logits by 0.1 to several units.
 * <ul>
 * <li>float32 and float64 weights: 1e-4 absolute on logits (docs/design.md §4).</li>
 * <li>float16 (10-bit mantissa) and bfloat16 (7-bit): re-rounding errs relative to the values, so 1e-3 and 8e-3 of
 * the largest |logit|. Merging the seed sample's adapter and re-rounding moved its logits (largest 5.1) by
 * 1.6e-3 in float16 and 1.2e-2 in bfloat16: a third of these (docs/benchmarks.md).</li>
 * </ul>
 * Hidden states get the same coefficient, always relative to the largest |value| of the state (at least 1).
 *
 * @param coefficient    the allowed difference, absolute or per unit of the largest |logit|
 * @param relativeLogits whether the logit tolerance scales with the largest |logit|
 */
public record Tolerance(Dtype dtype, double coefficient, boolean relativeLogits) {

    public static final double FLOAT32 = 1e-4;
    public static final double FLOAT16 = 1e-3;
    public static final double BFLOAT16 = 8e-3;

    public static Tolerance of(Dtype dtype) {
        return switch (dtype) {
            case BF16 -> new Tolerance(dtype, BFLOAT16, true);
            case F16 -> new Tolerance(dtype, FLOAT16, true);
            default -> new Tolerance(dtype, FLOAT32, false);
        };
    }

    /** The loosest tolerance any of the dtypes needs. */
    public static Tolerance of(Collection<Dtype> dtypes) {
        return dtypes.stream().map(Tolerance::of).max(Comparator.comparingDouble(Tolerance::coefficient))
                .orElse(of(Dtype.F32));
    }

    /** The largest logit difference that passes, given the largest |logit| of the source side. */
    public double logits(double largestLogit) {
        return relativeLogits ? coefficient * Math.max(1, largestLogit) : coefficient;
    }

    /** The largest difference of a hidden state that passes, given its largest |value|. */
    public double hidden(double largestValue) {
        return coefficient * Math.max(1, largestValue);
    }
}
