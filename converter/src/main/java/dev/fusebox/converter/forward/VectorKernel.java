package dev.fusebox.converter.forward;

import dev.fusebox.converter.tensor.Dtype;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The dot product on the Vector API, with two accumulators to hide the latency of fused multiply-add. The lanes
 * are summed in a fixed order rather than with {@code reduceLanes}, whose order differs between interpreted and
 * compiled code: the same inputs must give the same bits whenever a verification's two sides run. bfloat16 rows
 * are decoded a vector at a time (widen, shift into the upper half); other dtypes as the scalar kernel does. Measured
 * 3–5× faster than any plain loop on these machines (C2 does not vectorise a float sum, whose order it must keep);
 * see docs/benchmarks.md. Reached only through {@link Kernel#vector()}.
 */
public final class VectorKernel implements Kernel {

    static final VectorKernel INSTANCE = new VectorKernel();

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    /** As many shorts as {@link #INTS} has ints: the bfloat16 half of a float vector. */
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(INTS.length() * Short.SIZE));

    private VectorKernel() {
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int width = SPECIES.length();
        FloatVector acc0 = FloatVector.zero(SPECIES);
        FloatVector acc1 = FloatVector.zero(SPECIES);
        int i = 0;
        for (int end = n - 2 * width; i <= end; i += 2 * width) {
            acc0 = FloatVector.fromArray(SPECIES, a, aOff + i).fma(FloatVector.fromArray(SPECIES, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(SPECIES, a, aOff + i + width)
                    .fma(FloatVector.fromArray(SPECIES, b, bOff + i + width), acc1);
        }
        return finish(acc0, acc1, a, b, bOff - aOff, aOff + i, aOff + n);
    }

    /**
     * The lanes of both accumulators summed in a fixed order, then the scalar tail {@code a[i, end)} against
     * {@code b[i + shift, end + shift)}.
     */
    private static float finish(FloatVector acc0, FloatVector acc1, float[] a, float[] b, int shift, int i, int end) {
        FloatVector acc = acc0.add(acc1);
        float s = 0;
        for (int lane = 0; lane < acc.length(); lane++) {
            s += acc.lane(lane);
        }
        for (; i < end; i++) {
            s += a[i] * b[i + shift];
        }
        return s;
    }

    /**
     * Four tokens at a time, so each weight vector is loaded once for four multiply-adds; every token keeps the
     * two accumulators and the lane order of {@link #dot}, so the bits are the same.
     */
    @Override
    public void dotTokens(float[] row, float[] x, int tokens, int n, float[] out) {
        int width = SPECIES.length();
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            int x0 = t * n;
            int x1 = x0 + n;
            int x2 = x1 + n;
            int x3 = x2 + n;
            FloatVector a0 = FloatVector.zero(SPECIES);
            FloatVector b0 = FloatVector.zero(SPECIES);
            FloatVector a1 = FloatVector.zero(SPECIES);
            FloatVector b1 = FloatVector.zero(SPECIES);
            FloatVector a2 = FloatVector.zero(SPECIES);
            FloatVector b2 = FloatVector.zero(SPECIES);
            FloatVector a3 = FloatVector.zero(SPECIES);
            FloatVector b3 = FloatVector.zero(SPECIES);
            int i = 0;
            for (int end = n - 2 * width; i <= end; i += 2 * width) {
                FloatVector w0 = FloatVector.fromArray(SPECIES, row, i);
                FloatVector w1 = FloatVector.fromArray(SPECIES, row, i + width);
                a0 = w0.fma(FloatVector.fromArray(SPECIES, x, x0 + i), a0);
                b0 = w1.fma(FloatVector.fromArray(SPECIES, x, x0 + i + width), b0);
                a1 = w0.fma(FloatVector.fromArray(SPECIES, x, x1 + i), a1);
                b1 = w1.fma(FloatVector.fromArray(SPECIES, x, x1 + i + width), b1);
                a2 = w0.fma(FloatVector.fromArray(SPECIES, x, x2 + i), a2);
                b2 = w1.fma(FloatVector.fromArray(SPECIES, x, x2 + i + width), b2);
                a3 = w0.fma(FloatVector.fromArray(SPECIES, x, x3 + i), a3);
                b3 = w1.fma(FloatVector.fromArray(SPECIES, x, x3 + i + width), b3);
            }
            out[t] = finish(a0, b0, row, x, x0, i, n);
            out[t + 1] = finish(a1, b1, row, x, x1, i, n);
            out[t + 2] = finish(a2, b2, row, x, x2, i, n);
            out[t + 3] = finish(a3, b3, row, x, x3, i, n);
        }
        for (; t < tokens; t++) {
            out[t] = dot(row, 0, x, t * n, n);
        }
    }

    @Override
    public void decodeRow(WeightMatrix w, int row, float[] dst) {
        if (w.dtype() != Dtype.BF16) {
            w.decodeRow(row, dst);
            return;
        }
        MemorySegment data = w.data();
        int n = w.cols();
        long first = (w.firstElement() + (long) row * n) * 2;
        int width = INTS.length();
        int i = 0;
        for (int end = n - width; i <= end; i += width) {
            ShortVector bits = ShortVector.fromMemorySegment(SHORTS, data, first + 2L * i, ByteOrder.LITTLE_ENDIAN);
            ((IntVector) bits.convertShape(VectorOperators.S2I, INTS, 0)).lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats().intoArray(dst, i);
        }
        if (i < n) {
            w.rows(row, 1).decodeRange(i, dst, n - i);
        }
    }

    @Override
    public String name() {
        return "vector-" + SPECIES.vectorBitSize();
    }
}
