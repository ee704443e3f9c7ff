package dev.fusebox.converter.forward;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The Vector API kernel against the scalar reference, on seeded random inputs (STYLE.md §10). */
class KernelTest {

    @Test
    void theTestRunHasTheVectorKernelAsTheLauncherDoes() {
        assertThat(Kernel.vector()).isPresent();
        assertThat(Kernel.best()).isInstanceOf(VectorKernel.class);
    }

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(ints = {0, 1, 7, 8, 15, 16, 17, 31, 33, 64, 96, 127, 1024, 3584, 4099})
    void theVectorDotAgreesWithTheScalarOneWithinFloatRounding(int n) {
        SplittableRandom random = new SplittableRandom(n * 7919L + 1);
        for (int trial = 0; trial < 20; trial++) {
            int aOff = random.nextInt(5);
            int bOff = random.nextInt(5);
            float[] a = randomArray(random, aOff + n + random.nextInt(3));
            float[] b = randomArray(random, bOff + n + random.nextInt(3));
            double exact = 0;
            double magnitude = 0;
            for (int i = 0; i < n; i++) {
                exact += (double) a[aOff + i] * b[bOff + i];
                magnitude += Math.abs((double) a[aOff + i] * b[bOff + i]);
            }
            double bound = 1e-6 * magnitude * Math.max(1, Math.log(n + 1)) + 1e-30;
            float scalar = Kernel.scalar().dot(a, aOff, b, bOff, n);
            float vector = Kernel.vector().orElseThrow().dot(a, aOff, b, bOff, n);
            assertThat(Math.abs(scalar - exact)).isLessThanOrEqualTo(bound);
            assertThat(Math.abs(vector - exact)).isLessThanOrEqualTo(bound);
        }
    }

    @Test
    void theVectorDotGivesTheSameBitsBeforeAndAfterTheJitCompilesIt() {
        SplittableRandom random = new SplittableRandom(42);
        int[] lengths = {16, 64, 96, 1000};
        float[][] a = new float[lengths.length][];
        float[][] b = new float[lengths.length][];
        float[] first = new float[lengths.length];
        Kernel vector = Kernel.vector().orElseThrow();
        for (int i = 0; i < lengths.length; i++) {
            a[i] = randomArray(random, lengths[i]);
            b[i] = randomArray(random, lengths[i]);
            first[i] = vector.dot(a[i], 0, b[i], 0, lengths[i]);
        }
        for (int round = 0; round < 100_000; round++) {
            for (int i = 0; i < lengths.length; i++) {
                float again = vector.dot(a[i], 0, b[i], 0, lengths[i]);
                if (Float.floatToRawIntBits(again) != Float.floatToRawIntBits(first[i])) {
                    assertThat(again).as("n = %d, round %d", lengths[i], round).isEqualTo(first[i]);
                }
            }
        }
    }

    @Test
    void theVectorDotReadsOnlyItsRange() {
        float[] a = {100, 1, 2, 3, 100};
        float[] b = {100, 100, 4, 5, 6, 100};
        assertThat(Kernel.vector().orElseThrow().dot(a, 1, b, 2, 3)).isEqualTo(1 * 4 + 2 * 5 + 3 * 6);
    }

    private static float[] randomArray(SplittableRandom random, int length) {
        float[] out = new float[length];
        for (int i = 0; i < length; i++) {
            out[i] = (float) random.nextDouble(-2, 2);
        }
        return out;
    }
}
