package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * The dequantized values of a fine-grained FP8 weight: each F8_E4M3 element widened to float32 times the float32
 * scale of its block ({@code weight_scale_inv}), as transformers' {@code Fp8Dequantize} computes it before rounding
 * to the model's dtype. Like that code, the block is the weight's last two axes divided by the scale's grid, so
 * one class serves a per-expert weight [R, C] with its scale [R/b, C/b'] and a fused one [E, R, C] with [E, R/b,
 * C/b'].
 */
public final class BlockScaledFp8 implements FloatValues {

    /** Elements decoded per read of the weight's bytes. */
    private static final int CHUNK = 1 << 16;

    private final ByteRanges weight;
    /** Every scale, in the grid's row-major order. */
    private final float[] scales;
    private final ScaleGrid grid;

    private BlockScaledFp8(ByteRanges weight, float[] scales, ScaleGrid grid) {
        this.weight = weight;
        this.scales = scales;
        this.grid = grid;
    }

    /**
     * The dequantized values of {@code weight}, or why they cannot be made: the scale must be F32 with the weight's
     * leading axes and a grid that divides its last two axes into whole blocks (transformers refuses otherwise).
     *
     * @param key        the weight's key, for messages
     * @param scaleBytes the whole scale tensor's bytes
     */
    public static BlockScaledFp8 of(String key, ByteRanges weight, TensorSpec weightSpec, TensorSpec scaleSpec,
                                    MemorySegment scaleBytes) throws FuseboxException {
        Optional<String> unfit = unfit(weightSpec, scaleSpec);
        if (unfit.isPresent()) {
            throw new FuseboxException(Problem.UNSUPPORTED, null, key, unfit.get());
        }
        Shape w = weightSpec.shape();
        Shape s = scaleSpec.shape();
        int r = w.rank();
        float[] scales = new float[Math.toIntExact(s.elementCount())];
        MemorySegment.copy(scaleBytes, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0,
                scales, 0, scales.length);
        return new BlockScaledFp8(weight, scales, ScaleGrid.of(w, w.dim(r - 2) / s.dim(r - 2),
                w.dim(r - 1) / s.dim(r - 1)));
    }

    /** Why {@code scale} is not the block scale of F8_E4M3 {@code weight} that dequantizes it; empty when it is. */
    public static Optional<String> unfit(TensorSpec weight, TensorSpec scale) {
        Shape w = weight.shape();
        Shape s = scale.shape();
        int r = w.rank();
        if (weight.dtype() != Dtype.F8_E4M3) {
            return Optional.of("it is " + weight.dtype() + ", not an F8_E4M3 weight");
        }
        if (scale.dtype() != Dtype.F32) {
            return Optional.of("its scale '" + scale.key() + "' is " + scale.dtype() + ", not float32");
        }
        boolean sameLeading = r >= 2 && s.rank() == r;
        for (int a = 0; sameLeading && a < r - 2; a++) {
            sameLeading = w.dim(a) == s.dim(a);
        }
        if (!sameLeading || s.dim(r - 2) == 0 || s.dim(r - 1) == 0
                || w.dim(r - 2) % s.dim(r - 2) != 0 || w.dim(r - 1) % s.dim(r - 1) != 0) {
            return Optional.of("its shape " + w + " is not a whole number of blocks of its scale '" + scale.key()
                    + "' " + s + ", so, as in transformers, it has no dequantized values");
        }
        return Optional.empty();
    }

    @Override
    public void read(long first, float[] dst, int n) throws FuseboxException {
        for (int done = 0; done < n; ) {
            int m = Math.min(CHUNK, n - done);
            MemorySegment bytes = weight.read(first + done, m);
            for (int i = 0; i < m; i++) {
                float scale = scales[grid.scaleOf(first + done + i)];
                dst[done + i] = FloatCodec.e4m3ToFloat(bytes.get(ValueLayout.JAVA_BYTE, i)) * scale;
            }
            done += m;
        }
    }

    /** "[32, 16]": the block's rows and columns. */
    public String block() {
        return "[" + grid.blockRows() + ", " + grid.blockCols() + "]";
    }
}
