package dev.fusebox.converter.plan;

import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One weight dequantized against values worked out by hand (and torch's measured NaN): element × its block's
 * scale, rounded to bfloat16.
 */
class Fp8DequantizationTest {

    @Test
    void eachElementIsScaledByItsOwnBlockAndNanIsWrittenAsTorchWritesIt() throws Exception {
        // A [2, 4] weight in [1, 2] blocks: scales [[2, 0.5], [3, -1]].
        TensorSpec weight = new TensorSpec("w", Dtype.F8_E4M3, Shape.of(2, 4));
        TensorSpec scale = new TensorSpec("s", Dtype.F32, Shape.of(2, 2));
        byte one = 0x38;
        byte half = 0x30;
        byte[] w = {one, half, one, half, one, (byte) 0x7f, one, (byte) 0xb8};
        ByteBuffer s = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putFloat(2).putFloat(0.5f).putFloat(3)
                .putFloat(-1);
        Map<String, byte[]> bytes = Map.of("w", w, "s", s.array());
        SourceReader reader = new SourceReader() {
            @Override
            public TensorSpec spec(String key) {
                return key.equals("w") ? weight : scale;
            }

            @Override
            public void read(String key, long offset, ByteBuffer dst) {
                dst.put(bytes.get(key), (int) offset, dst.remaining());
            }
        };
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        TargetSink sink = new TargetSink() {
            @Override
            public void write(ByteBuffer b) {
                while (b.hasRemaining()) {
                    written.write(b.get());
                }
            }

            @Override
            public long remaining() {
                return 16L - written.size();
            }
        };
        new Fp8Dequantization(weight.shape(), Dtype.BF16, List.of(Placement.whole(weight)), Map.of("w", scale),
                new BlockScales(1, 2)).write(reader, sink);
        ByteBuffer out = ByteBuffer.wrap(written.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        // 1·2, 0.5·2, 1·0.5, 0.5·0.5 | 1·3, NaN, 1·(-1), (-1)·(-1), as bfloat16 bit patterns.
        short[] expected = {0x4000, 0x3f80, 0x3f00, 0x3e80, 0x4040, (short) 0xffff, (short) 0xbf80, 0x3f80};
        for (short e : expected) {
            assertThat(out.getShort()).isEqualTo(e);
        }
    }
}
