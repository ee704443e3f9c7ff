package dev.fusebox.converter.convert;

import dev.fusebox.converter.tensor.FloatCodec;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The unrolled sum of squares against the plain loop, on seeded runs of every alignment, with NaN and infinities. */
class SquareSumsTest {

    @Test
    void theUnrolledLoopGivesThePlainLoopsLanesBitForBit() {
        SplittableRandom random = new SplittableRandom(19);
        for (int round = 0; round < 2000; round++) {
            int n = random.nextInt(0, 300);
            float[] v = new float[n + 20];
            for (int i = 0; i < v.length; i++) {
                int pick = random.nextInt(50);
                v[i] = pick == 0 ? Float.NaN : pick == 1 ? Float.POSITIVE_INFINITY : pick == 2
                        ? Float.NEGATIVE_INFINITY : (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-8, 8)));
            }
            int from = random.nextInt(0, 10);
            int to = Math.min(v.length, from + n);
            long first = random.nextLong(0, 1L << 40);
            double[] fast = new double[SquareSums.LANES];
            double[] plain = new double[SquareSums.LANES];
            for (int i = 0; i < SquareSums.LANES; i++) {
                fast[i] = plain[i] = random.nextDouble();
            }
            SquareSums.add(v, from, to, first, fast);
            SquareSums.addReference(v, from, to, first, plain);
            assertThat(fast).as("round %d", round).containsExactly(plain);
        }
    }

    @Test
    void bfloat16BitsGiveTheLanesOfTheirDecodedValuesBitForBit() {
        SplittableRandom random = new SplittableRandom(7);
        for (int round = 0; round < 2000; round++) {
            int n = random.nextInt(0, 300);
            short[] bits = new short[n + 20];
            float[] decoded = new float[bits.length];
            for (int i = 0; i < bits.length; i++) {
                // Every bit pattern: normal, subnormal, zero of either sign, infinities, NaN with any payload.
                bits[i] = (short) random.nextInt(1 << 16);
                decoded[i] = FloatCodec.bf16ToFloat(bits[i]);
            }
            int from = random.nextInt(0, 10);
            int to = Math.min(bits.length, from + n);
            long first = random.nextLong(0, 1L << 40);
            double[] fromBits = new double[SquareSums.LANES];
            double[] plain = new double[SquareSums.LANES];
            SquareSums.addBf16(bits, from, to, first, fromBits);
            SquareSums.addReference(decoded, from, to, first, plain);
            assertThat(fromBits).as("round %d", round).containsExactly(plain);
        }
    }

    @Test
    void aRunCutAnywhereSumsAsTheWholeRunAndSkipsWhatIsNotFinite() {
        float[] v = new float[1000];
        double exact = 0;
        for (int i = 0; i < v.length; i++) {
            v[i] = i % 97 == 0 ? Float.NaN : i % 89 == 0 ? Float.NEGATIVE_INFINITY : (float) Math.sin(i) * 3;
            exact += Float.isFinite(v[i]) ? (double) v[i] * v[i] : 0;
        }
        double[] whole = new double[SquareSums.LANES];
        SquareSums.add(v, 0, v.length, 0, whole);
        double[] cut = new double[SquareSums.LANES];
        SquareSums.add(v, 0, 333, 0, cut);
        SquareSums.add(v, 333, 334, 333, cut);
        SquareSums.add(v, 334, v.length, 334, cut);
        assertThat(cut).containsExactly(whole);
        assertThat(SquareSums.total(whole)).isCloseTo(exact, org.assertj.core.api.Assertions.within(1e-9 * exact));
    }
}
