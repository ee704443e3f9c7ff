package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An FP8 weight's dequantized values, against values worked out by hand from the format (E4M3: bias 7, three
 * mantissa bits), and the scales that cannot dequantize a weight, refused as transformers refuses them.
 */
class BlockScaledFp8Test {

    private static TensorSpec spec(String key, Dtype dtype, long... dims) {
        return new TensorSpec(key, dtype, Shape.of(dims));
    }

    @Test
    void eachElementIsItsFp8ValueTimesTheScaleOfItsBlock() throws FuseboxException {
        // A [2, 4] weight in blocks of [1, 2]: scales 1, 2 / 4, 8 for the four blocks.
        byte[] weight = {0x38, 0x40, 0x38, (byte) 0xb8, 0x30, 0x44, 0x01, 0x00};
        float[] expected = {1f, 2f, 2f, -2f, 2f, 12f, 8 * 0x1p-9f, 0f};
        MemorySegment scales = Arena.ofAuto().allocate(16);
        float[] s = {1, 2, 4, 8};
        for (int i = 0; i < 4; i++) {
            scales.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, s[i]);
        }
        BlockScaledFp8 values = BlockScaledFp8.of("w", ByteRanges.of(MemorySegment.ofArray(weight)),
                spec("w", Dtype.F8_E4M3, 2, 4), spec("w_scale_inv", Dtype.F32, 2, 2), scales);
        assertThat(values.block()).isEqualTo("[1, 2]");
        float[] out = new float[3];
        values.read(5, out, 3);
        assertThat(out).containsExactly(expected[5], expected[6], expected[7]);
    }

    @Test
    void aWeightThatIsNotAWholeNumberOfBlocksOfItsGridHasNoDequantizedValues() {
        // DeepSeek-V3's kv_a_proj_with_mqa: 576 rows in a grid of 5 (blocks of 128, the last one partial).
        assertThat(BlockScaledFp8.unfit(spec("w", Dtype.F8_E4M3, 576, 7168), spec("s", Dtype.F32, 5, 56)))
                .hasValueSatisfying(m -> assertThat(m).contains("not a whole number of blocks"));
        assertThat(BlockScaledFp8.unfit(spec("w", Dtype.F8_E4M3, 4, 64, 96), spec("s", Dtype.F32, 2, 2, 6)))
                .isPresent();
        assertThat(BlockScaledFp8.unfit(spec("w", Dtype.F8_E4M3, 64, 96), spec("s", Dtype.BF16, 2, 6)))
                .hasValueSatisfying(m -> assertThat(m).contains("not float32"));
        assertThat(BlockScaledFp8.unfit(spec("w", Dtype.F8_E4M3, 4, 64, 96), spec("s", Dtype.F32, 4, 2, 6)))
                .isEmpty();
    }
}
