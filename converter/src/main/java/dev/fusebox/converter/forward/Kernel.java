package dev.fusebox.converter.forward;

import java.util.Optional;

/**
 * The one hot loop of the forward pass: a dot product of two float ranges. {@link ScalarKernel} is the reference;
 * {@link VectorKernel} is the fast one, tested against it.
 */
public sealed interface Kernel permits ScalarKernel, VectorKernel {

    /** {@code sum(a[aOff + i] * b[bOff + i])} for {@code i < n}. */
    float dot(float[] a, int aOff, float[] b, int bOff, int n);

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
