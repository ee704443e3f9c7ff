package dev.fusebox.converter.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Writing a double as bfloat16 or float16 rounds once, to the nearest value of the format with ties to even,
 * checked against an exact reference: every finite value of the format, compared by exact decimal distance.
 */
class RoundingOnceTest {

    /** Every finite non-negative value of a 16-bit format, ascending, then its first value past the largest. */
    private static double[] ladder(Dtype dtype) {
        double[] values = new double[0x8000];
        int n = 0;
        for (int bits = 0; bits < 0x8000; bits++) {
            double v = dtype == Dtype.BF16 ? FloatCodec.bf16ToFloat((short) bits) : Float.float16ToFloat((short) bits);
            if (Double.isFinite(v)) {
                values[n++] = v;
            }
        }
        double[] out = Arrays.copyOf(values, n + 1);
        Arrays.sort(out, 0, n);
        // Rounding treats the format's infinity as the value one ulp past its largest: 2^(maxExponent + 1).
        out[n] = dtype == Dtype.BF16 ? 0x1p128 : 0x1p16;
        return out;
    }

    /** The exact nearest value of {@code ladder} to {@code x ≥ 0}, ties to the one with an even significand. */
    private static double nearest(double[] ladder, double x) {
        int i = Arrays.binarySearch(ladder, x);
        if (i >= 0) {
            return x;
        }
        int above = -i - 1;
        if (above == ladder.length) {
            return Double.POSITIVE_INFINITY;
        }
        double lo = ladder[above - 1];
        double hi = ladder[above];
        int c = new BigDecimal(x).subtract(new BigDecimal(lo)).compareTo(new BigDecimal(hi).subtract(new BigDecimal(x)));
        double pick;
        if (c != 0) {
            pick = c < 0 ? lo : hi;
        } else {
            // The even one is the lower of the pair on the ladder's own index parity.
            pick = (above - 1) % 2 == 0 ? lo : hi;
        }
        return above == ladder.length - 1 && pick == hi ? Double.POSITIVE_INFINITY : pick;
    }

    private static double written(Dtype dtype, double x) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(2);
            FloatCodec.set(s, dtype, 0, x);
            return FloatCodec.get(s, dtype, 0);
        }
    }

    @Test
    void aValueJustAboveATieRoundsUpWhereGoingThroughFloatRoundedItDown() {
        double x = 1 + 0x1p-8 + 0x1p-30;
        assertThat((double) (float) x).isEqualTo(1 + 0x1p-8);
        assertThat(written(Dtype.BF16, x)).isEqualTo(1.0078125);
        assertThat(written(Dtype.F16, 1 + 0x1p-11 + 0x1p-40)).isEqualTo(1 + 0x1p-10);
    }

    @Test
    void everyWriteIsTheExactNearestValueOfTheFormat() {
        Random random = new Random(11);
        for (Dtype dtype : new Dtype[] {Dtype.BF16, Dtype.F16}) {
            double[] ladder = ladder(dtype);
            for (int k = 0; k < 200_000; k++) {
                double x;
                switch (k % 4) {
                    case 0 -> x = random.nextGaussian() * Math.scalb(1.0, random.nextInt(60) - 30);
                    case 1 -> {
                        // Near a midpoint of two neighbours: where double rounding goes wrong.
                        int i = random.nextInt(ladder.length - 2);
                        double mid = (ladder[i] + ladder[i + 1]) / 2;
                        x = mid + (random.nextInt(3) - 1) * Math.ulp(mid) * random.nextInt(1 << 20);
                    }
                    case 2 -> x = ladder[random.nextInt(ladder.length - 1)];
                    default -> x = Math.scalb(random.nextDouble(), random.nextInt(40) - (dtype == Dtype.F16 ? 30 : 140));
                }
                x = Math.abs(x);
                double want = nearest(ladder, x);
                assertThat(written(dtype, x)).as("%s of %s", dtype, x).isEqualTo(want);
                assertThat(written(dtype, -x)).as("%s of %s", dtype, -x).isEqualTo(-want);
            }
        }
    }
}
