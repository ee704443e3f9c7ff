package dev.fusebox.converter.forward;

import java.util.Optional;

/**
 * The two hot loops of the forward pass: decoding a weight row to float, and a dot product of two float ranges.
 * {@link ScalarKernel} is the reference; {@link VectorKernel} is the fast one, tested against it.
 */
public sealed interface Kernel permits ScalarKernel, VectorKernel {

    /** {@code sum(a[aOff + i] * b[bOff + i])} for {@code i < n}. */
    float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /**
     * {@code out[t] = dot(row, x[t·n, (t+1)·n))} for every token {@code t < tokens}: one weight row against the
     * rows of {@code x}. Each result has the bits {@link #dot} gives it.
     */
    default void dotTokens(float[] row, float[] x, int tokens, int n, float[] out) {
        for (int t = 0; t < tokens; t++) {
            out[t] = dot(row, 0, x, t * n, n);
        }
    }

    /** Decodes row {@code row} of {@code w} into {@code dst[0, w.cols())}. */
    void decodeRow(WeightMatrix w, int row, float[] dst);

    /** A short name for reports and benchmarks. */
    String name();

    /** The fastest kernel this JVM can run: the Vector API one when it is there, else the scalar one. */
    static Kernel best() {
        return vector().orElse(ScalarKernel.INSTANCE);
    }

    static Kernel scalar() {
        return ScalarKernel.INSTANCE;
    }

    /**
     * The Vector API kernel, when {@code jdk.incubator.vector} was resolved at start-up ({@code --add-modules}, as
     * the launcher and the test runner pass it). Checked before {@link VectorKernel} is touched: without the module
     * that class cannot even be initialised.
     */
    static Optional<Kernel> vector() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
                ? Optional.of(VectorKernel.INSTANCE) : Optional.empty();
    }
}
