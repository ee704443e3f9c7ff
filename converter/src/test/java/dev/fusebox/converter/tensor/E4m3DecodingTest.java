package dev.fusebox.converter.tensor;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Every F8_E4M3 byte decodes to the float32 torch widens it to (e4m3-torch.txt, written by torch 2.13). */
class E4m3DecodingTest {

    @Test
    void everyByteDecodesToTorchsFloat32BitForBit() throws Exception {
        Path table = Path.of(E4m3DecodingTest.class.getResource("/dev/fusebox/converter/tensor/e4m3-torch.txt").toURI());
        List<String> rows = Files.readAllLines(table).stream().filter(l -> !l.startsWith("#")).toList();
        assertThat(rows).hasSize(256);
        for (String row : rows) {
            String[] f = row.split(" ");
            int b = Integer.parseInt(f[0], 16);
            int expected = Integer.parseUnsignedInt(f[1], 16);
            assertThat(Float.floatToRawIntBits(FloatCodec.e4m3ToFloat((byte) b))).as("byte %02x", b)
                    .isEqualTo(expected);
        }
    }

    @Test
    void theLargestFiniteValueIs448AndTheSmallestSubnormalTwoToTheMinus9() {
        assertThat(FloatCodec.e4m3ToFloat((byte) 0x7e)).isEqualTo(448f);
        assertThat(FloatCodec.e4m3ToFloat((byte) 0xfe)).isEqualTo(-448f);
        assertThat(FloatCodec.e4m3ToFloat((byte) 0x01)).isEqualTo(Math.scalb(1f, -9));
        assertThat(FloatCodec.e4m3ToFloat((byte) 0x38)).isEqualTo(1f);
    }
}
