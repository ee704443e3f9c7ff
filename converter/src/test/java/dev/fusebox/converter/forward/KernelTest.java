package dev.fusebox.converter.forward;

import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"BF16", "F16", "F32", "F64"})
    void theVectorDecoderGivesTheScalarOnesBits(String dtypeName) {
        Dtype dtype = Dtype.valueOf(dtypeName);
        SplittableRandom random = new SplittableRandom(dtype.name().hashCode());
        for (int cols : new int[] {1, 7, 8, 9, 16, 31, 64, 100, 1024}) {
            int rows = 5;
            long first = random.nextInt(4);
            MemorySegment data = Arena.ofAuto().allocate((first + (long) rows * cols) * dtype.byteSize());
            for (long i = 0; i < first + (long) rows * cols; i++) {
                FloatCodec.set(data, dtype, i, random.nextDouble(-3, 3));
            }
            WeightMatrix w = new WeightMatrix("w", data, dtype, first, rows, cols);
            for (int r = 0; r < rows; r++) {
                float[] expected = new float[cols];
                float[] actual = new float[cols];
                Kernel.scalar().decodeRow(w, r, expected);
                Kernel.vector().orElseThrow().decodeRow(w, r, actual);
                assertThat(actual).as("%d columns, row %d", cols, r).containsExactly(expected);
            }
        }
    }

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(ints = {1, 15, 16, 17, 64, 100, 1024})
    void aRowAgainstManyTokensGivesEachTokenTheBitsOfItsOwnDot(int n) {
        SplittableRandom random = new SplittableRandom(n);
        for (int tokens = 1; tokens <= 11; tokens++) {
            float[] row = randomArray(random, n);
            float[] x = randomArray(random, tokens * n);
            for (Kernel kernel : new Kernel[] {Kernel.scalar(), Kernel.vector().orElseThrow()}) {
                float[] out = new float[tokens];
                kernel.dotTokens(row, x, tokens, n, out);
                for (int t = 0; t < tokens; t++) {
                    assertThat(out[t]).as("%s, token %d of %d", kernel.name(), t, tokens)
                            .isEqualTo(kernel.dot(row, 0, x, t * n, n));
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
