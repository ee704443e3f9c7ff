package dev.fusebox.converter.forward;

import dev.fusebox.converter.safetensors.Dtype;
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
        FloatVector acc = acc0.add(acc1);
        float s = 0;
        for (int lane = 0; lane < width; lane++) {
            s += acc.lane(lane);
        }
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
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
