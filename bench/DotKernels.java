// Plain loops against the Vector API for the forward pass's hot loop: y[t][o] = row_o · x_t over a bf16 weight
// matrix the size of one expert projection (3584 × 1024), rows decoded once and dotted with every token.
// Run: java --add-modules jdk.incubator.vector bench/DotKernels.java [tokens]   (bench/kernels.sh does this)
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

public class DotKernels {
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** One accumulator: what ScalarKernel does. C2 keeps the order of a float sum, so it stays scalar. */
    static float plain(float[] w, float[] x, int xo, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += w[i] * x[xo + i];
        }
        return s;
    }

    /** Eight independent accumulators: more instruction-level parallelism, still scalar instructions. */
    static float unrolled(float[] w, float[] x, int xo, int n) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            s0 += w[i] * x[xo + i]; s1 += w[i + 1] * x[xo + i + 1]; s2 += w[i + 2] * x[xo + i + 2];
            s3 += w[i + 3] * x[xo + i + 3]; s4 += w[i + 4] * x[xo + i + 4]; s5 += w[i + 5] * x[xo + i + 5];
            s6 += w[i + 6] * x[xo + i + 6]; s7 += w[i + 7] * x[xo + i + 7];
        }
        float s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        for (; i < n; i++) {
            s += w[i] * x[xo + i];
        }
        return s;
    }

    /** Partial sums in an array of 16: the shape C2's superword pass can sometimes vectorise. */
    static float partialArray(float[] w, float[] x, int xo, int n, float[] acc) {
        java.util.Arrays.fill(acc, 0f);
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            for (int j = 0; j < 16; j++) {
                acc[j] += w[i + j] * x[xo + i + j];
            }
        }
        float s = 0;
        for (int j = 0; j < 16; j++) {
            s += acc[j];
        }
        for (; i < n; i++) {
            s += w[i] * x[xo + i];
        }
        return s;
    }

    /** The Vector API with two FMA accumulators: what VectorKernel does. */
    static float vector(float[] w, float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
        int width = S.length(), i = 0;
        for (; i + 2 * width <= n; i += 2 * width) {
            a0 = FloatVector.fromArray(S, w, i).fma(FloatVector.fromArray(S, x, xo + i), a0);
            a1 = FloatVector.fromArray(S, w, i + width).fma(FloatVector.fromArray(S, x, xo + i + width), a1);
        }
        FloatVector a = a0.add(a1);
        float s = 0;
        for (int lane = 0; lane < width; lane++) {
            s += a.lane(lane);
        }
        for (; i < n; i++) {
            s += w[i] * x[xo + i];
        }
        return s;
    }

    public static void main(String[] args) {
        int rows = 3584, n = 1024, tokens = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        SplittableRandom r = new SplittableRandom(1);
        MemorySegment m = Arena.global().allocate((long) rows * n * 2, 64);
        for (long i = 0; i < (long) rows * n; i++) {
            m.setAtIndex(I16, i, (short) (Float.floatToRawIntBits((float) r.nextDouble(-1, 1)) >>> 16));
        }
        float[] x = new float[tokens * n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        float[] w = new float[n], acc = new float[16], y = new float[tokens * rows];
        String[] names = {"plain", "unrolled-8", "partial-array", "vector"};
        double[] best = new double[names.length];
        java.util.Arrays.fill(best, Double.MAX_VALUE);
        for (int rep = 0; rep < 8; rep++) {
            for (int k = 0; k < names.length; k++) {
                long t0 = System.nanoTime();
                for (int o = 0; o < rows; o++) {
                    for (int i = 0; i < n; i++) {
                        w[i] = Float.intBitsToFloat((m.getAtIndex(I16, (long) o * n + i) & 0xffff) << 16);
                    }
                    for (int t = 0; t < tokens; t++) {
                        y[t * rows + o] = switch (k) {
                            case 0 -> plain(w, x, t * n, n);
                            case 1 -> unrolled(w, x, t * n, n);
                            case 2 -> partialArray(w, x, t * n, n, acc);
                            default -> vector(w, x, t * n, n);
                        };
                    }
                }
                best[k] = Math.min(best[k], (System.nanoTime() - t0) / 1e6);
            }
        }
        System.out.printf(Locale.ROOT, "%d × %d bf16 weights, %d tokens, one thread, best of 8 (decode included):%n",
                rows, n, tokens);
        for (int k = 0; k < names.length; k++) {
            System.out.printf(Locale.ROOT, "  %-14s %7.2f ms  (%.1f× plain)%n", names[k], best[k], best[0] / best[k]);
        }
    }
}
