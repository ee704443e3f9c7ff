package dev.fusebox.converter.forward;

import dev.fusebox.converter.safetensors.Dtype;

import java.util.Collection;

/**
 * How far the two sides' logits may differ and still pass. Both sides compute in float32, so a conversion that
 * moves bytes without touching them agrees far inside any of these (bit for bit in practice). What the tolerance
 * must admit is a conversion that re-rounds weights to their storage type, as merging an adapter does; what it
 * must reject is a change of meaning — swapped experts, a wrong LoRA scale — which moves logits by 0.1 to several
 * units. 1e-4 for float32 and float64 weights (DESIGN.md §5); for 16-bit weights the rounding of one merged
 * weight is 2⁻¹¹ (float16) or 2⁻⁸ (bfloat16) of its value rather than 2⁻²⁴, and the tolerance grows with it —
 * see docs/benchmarks.md for the differences measured on the seed model.
 */
public final class Tolerance {

    public static final double FLOAT32 = 1e-4;
    public static final double FLOAT16 = 5e-3;
    public static final double BFLOAT16 = 4e-2;

    private Tolerance() {
    }

    public static double of(Dtype dtype) {
        return switch (dtype) {
            case BF16 -> BFLOAT16;
            case F16 -> FLOAT16;
            default -> FLOAT32;
        };
    }

    /** The loosest tolerance any of the dtypes needs. */
    public static double of(Collection<Dtype> dtypes) {
        return dtypes.stream().mapToDouble(Tolerance::of).max().orElse(FLOAT32);
    }
}
