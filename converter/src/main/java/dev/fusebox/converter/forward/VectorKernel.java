package dev.fusebox.converter.forward;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The dot product on the Vector API, with two accumulators to hide the latency of fused multiply-add. The lanes
 * are summed in a fixed order rather than with {@code reduceLanes}, whose order differs between interpreted and
 * compiled code: the same inputs must give the same bits whenever a verification's two sides run. Measured
 * 3–5× faster than any plain loop on these machines (C2 does not vectorise a float sum, whose order it must keep);
 * see docs/benchmarks.md. Reached only through {@link Kernel#vector()}.
 */
public final class VectorKernel implements Kernel {

    static final VectorKernel INSTANCE = new VectorKernel();

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

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
    public String name() {
        return "vector-" + SPECIES.vectorBitSize();
    }
}
