package dev.fusebox.converter.convert;

/**
 * Σ x² over the finite elements of a run of decoded values, kept in {@link #LANES} partial sums: element i of the
 * tensor goes to lane i mod 8. The sum of a tensor is then the same whatever the run's chunking, and the fast
 * loop runs eight independent additions instead of one chain, each waiting for the last (the chain held the value
 * diff to a few hundred MiB/s). A square of a float is exact in double, so only the additions round, in the
 * order the lanes fix.
 */
final class SquareSums {

    static final int LANES = 8;

    private SquareSums() {
    }

    /** Adds the squares of {@code v[from, to)}, elements {@code first…} of the tensor, to {@code lanes}. */
    static void add(float[] v, int from, int to, long first, double[] lanes) {
        int k = from;
        // Up to the first element of lane 0, one at a time, then eight at a time, then the rest.
        while (k < to && ((first + k - from) & (LANES - 1)) != 0) {
            lanes[lane(first + k - from)] += square(v[k]);
            k++;
        }
        double s0 = lanes[0], s1 = lanes[1], s2 = lanes[2], s3 = lanes[3];
        double s4 = lanes[4], s5 = lanes[5], s6 = lanes[6], s7 = lanes[7];
        for (; k + LANES <= to; k += LANES) {
            s0 += square(v[k]);
            s1 += square(v[k + 1]);
            s2 += square(v[k + 2]);
            s3 += square(v[k + 3]);
            s4 += square(v[k + 4]);
            s5 += square(v[k + 5]);
            s6 += square(v[k + 6]);
            s7 += square(v[k + 7]);
        }
        lanes[0] = s0;
        lanes[1] = s1;
        lanes[2] = s2;
        lanes[3] = s3;
        lanes[4] = s4;
        lanes[5] = s5;
        lanes[6] = s6;
        lanes[7] = s7;
        for (; k < to; k++) {
            lanes[lane(first + k - from)] += square(v[k]);
        }
    }

    /**
     * As {@link #add} for bfloat16 elements given as their bits, without decoding them to an array first (a chunk
     * whose bytes agree needs A's squares only).
     */
    static void addBf16(short[] bits, int from, int to, long first, double[] lanes) {
        int k = from;
        while (k < to && ((first + k - from) & (LANES - 1)) != 0) {
            lanes[lane(first + k - from)] += square(bf16(bits[k]));
            k++;
        }
        double s0 = lanes[0], s1 = lanes[1], s2 = lanes[2], s3 = lanes[3];
        double s4 = lanes[4], s5 = lanes[5], s6 = lanes[6], s7 = lanes[7];
        for (; k + LANES <= to; k += LANES) {
            s0 += square(bf16(bits[k]));
            s1 += square(bf16(bits[k + 1]));
            s2 += square(bf16(bits[k + 2]));
            s3 += square(bf16(bits[k + 3]));
            s4 += square(bf16(bits[k + 4]));
            s5 += square(bf16(bits[k + 5]));
            s6 += square(bf16(bits[k + 6]));
            s7 += square(bf16(bits[k + 7]));
        }
        lanes[0] = s0;
        lanes[1] = s1;
        lanes[2] = s2;
        lanes[3] = s3;
        lanes[4] = s4;
        lanes[5] = s5;
        lanes[6] = s6;
        lanes[7] = s7;
        for (; k < to; k++) {
            lanes[lane(first + k - from)] += square(bf16(bits[k]));
        }
    }

    /** The plain loop {@link #add} and {@link #addBf16} (on the decoded values) must agree with, bit for bit. */
    static void addReference(float[] v, int from, int to, long first, double[] lanes) {
        for (int k = from; k < to; k++) {
            lanes[lane(first + k - from)] += square(v[k]);
        }
    }

    /** The lanes summed in a fixed order: pairs, then pairs of pairs. */
    static double total(double[] lanes) {
        return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    }

    private static int lane(long element) {
        return (int) (element & (LANES - 1));
    }

    private static float bf16(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    private static double square(float x) {
        double d = x;
        return Float.isFinite(x) ? d * d : 0;
    }
}
