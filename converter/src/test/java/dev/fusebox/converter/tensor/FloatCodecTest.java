package dev.fusebox.converter.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class FloatCodecTest {

    @Test
    void bf16IsTheUpperHalfOfFloat32() {
        assertThat(FloatCodec.bf16ToFloat((short) 0x3f80)).isEqualTo(1.0f);
        assertThat(FloatCodec.bf16ToFloat((short) 0xc000)).isEqualTo(-2.0f);
        assertThat(FloatCodec.floatToBf16(1.0f)).isEqualTo((short) 0x3f80);
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies exactly between 1.0 and the next bf16 (1 + 2^-7): ties go to the even mantissa, 1.0.
        assertThat(FloatCodec.floatToBf16(1.0f + 0x1p-8f)).isEqualTo((short) 0x3f80);
        // 1 + 3·2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6 (even): goes up to the even one.
        assertThat(FloatCodec.floatToBf16(1.0f + 3 * 0x1p-8f)).isEqualTo((short) 0x3f82);
        assertThat(FloatCodec.floatToBf16(1.0f + 0x1p-8f + 0x1p-20f)).isEqualTo((short) 0x3f81);
        assertThat(Float.isNaN(FloatCodec.bf16ToFloat(FloatCodec.floatToBf16(Float.NaN)))).isTrue();
    }

    @Test
    void everyFloatDtypeRoundTripsValuesItCanHold() {
        Random random = new Random(7);
        try (Arena arena = Arena.ofConfined()) {
            for (Dtype d : new Dtype[] {Dtype.F64, Dtype.F32, Dtype.F16, Dtype.BF16}) {
                MemorySegment s = arena.allocate(64L * d.byteSize());
                float[] values = new float[64];
                for (int i = 0; i < 64; i++) {
                    // Small integers and halves are exact in every float dtype here.
                    values[i] = (random.nextInt(512) - 256) / 2f;
                    FloatCodec.set(s, d, i, values[i]);
                }
                float[] back = new float[64];
                FloatCodec.decode(s, d, 0, back, 0, 64);
                assertThat(back).as(d.name()).containsExactly(values);
                assertThat(FloatCodec.get(s, d, 5)).isEqualTo(values[5]);
            }
        }
    }
}
