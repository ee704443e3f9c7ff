package dev.fusebox.converter.safetensors;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.fusebox.converter.safetensors.MalformedSafetensorsTest.file;
import static dev.fusebox.converter.safetensors.MalformedSafetensorsTest.tensor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every dtype of the safetensors format, read from hand-written bytes; sizes in bits as the reference crate's
 * {@code Dtype::bitsize} gives them, and its rule that a tensor's elements make whole bytes (MisalignedSlice).
 */
class EveryDtypeTest {

    @TempDir
    Path dir;

    @Test
    void theFormatHasTwentyTwoDtypesWithTheReferenceCratesBitSizes() {
        // safetensors/src/tensor.rs, Dtype::bitsize (huggingface/safetensors at 24b0b28).
        Map<String, Integer> reference = Map.ofEntries(Map.entry("F4", 4), Map.entry("F6_E3M2", 6),
                Map.entry("F6_E2M3", 6), Map.entry("BOOL", 8), Map.entry("U8", 8), Map.entry("I8", 8),
                Map.entry("F8_E5M2", 8), Map.entry("F8_E4M3", 8), Map.entry("F8_E8M0", 8),
                Map.entry("F8_E4M3FNUZ", 8), Map.entry("F8_E5M2FNUZ", 8), Map.entry("I16", 16), Map.entry("U16", 16),
                Map.entry("I32", 32), Map.entry("U32", 32), Map.entry("I64", 64), Map.entry("U64", 64),
                Map.entry("F16", 16), Map.entry("BF16", 16), Map.entry("F32", 32), Map.entry("F64", 64),
                Map.entry("C64", 64));
        assertThat(Arrays.stream(Dtype.values()).map(Dtype::name)).containsExactlyInAnyOrderElementsOf(
                reference.keySet());
        for (Dtype d : Dtype.values()) {
            assertThat(d.bits()).as(d.name()).isEqualTo(reference.get(d.name()));
        }
    }

    @Test
    void theReferenceCratesOwnF4FileReads() throws Exception {
        // test_serialization_fp4: an F4 tensor of shape [1, 2] in one byte, header padded with spaces.
        byte[] bytes = {64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121,
                112, 101, 34, 58, 34, 70, 52, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 93, 44, 34,
                100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 49, 93, 125, 125, 32,
                32, 32, 32, 0};
        Path path = Files.write(dir.resolve("fp4.safetensors"), bytes);
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            TensorEntry t = f.tensor("attn.0").orElseThrow();
            assertThat(t.dtype()).isEqualTo(Dtype.F4);
            assertThat(t.shape()).isEqualTo(Shape.of(1, 2));
            assertThat(t.byteSize()).isEqualTo(1);
            assertThat(f.data(t).byteSize()).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0} {1} is {2} bytes")
    @CsvSource({"F8_E8M0, '[3]', 3", "F8_E4M3FNUZ, '[2, 2]', 4", "F8_E5M2FNUZ, '[5]', 5", "F6_E2M3, '[4]', 3",
            "F6_E3M2, '[2, 4]', 6", "F4, '[3, 2]', 3", "F4, '[0]', 0", "C64, '[2]', 16", "F8_E4M3, '[2]', 2"})
    void aTensorOfEveryDtypeReadsWithItsSizeInBits(String dtype, String shape, int bytes) throws Exception {
        Path path = Files.write(dir.resolve("t.safetensors"), file("{" + tensor("w", dtype, shape, 0, bytes) + "}",
                bytes));
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            TensorEntry t = f.tensor("w").orElseThrow();
            assertThat(t.dtype().name()).isEqualTo(dtype);
            assertThat(t.spec().byteSize()).isEqualTo(bytes);
            assertThat(f.data(t).byteSize()).isEqualTo(bytes);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"F4, '[1, 3]', 2", "F6_E2M3, '[3]', 3", "F6_E3M2, '[1, 1]', 1", "F4, '[1]', 1"})
    void subByteElementsThatDoNotMakeWholeBytesAreRefusedAsTheReferenceDoes(String dtype, String shape, int bytes)
            throws Exception {
        Path path = Files.write(dir.resolve("t.safetensors"), file("{" + tensor("w", dtype, shape, 0, bytes) + "}",
                bytes));
        assertThatThrownBy(() -> SafetensorsFile.open(path)).isInstanceOfSatisfying(FuseboxException.class, e -> {
            assertThat(e.problem()).isEqualTo(Problem.MISALIGNED_BITS);
            assertThat(e.getMessage()).contains("'w'").contains(dtype).contains("whole bytes");
        });
    }

    @Test
    void anF4TensorSpanningMoreBytesThanItsElementsIsASizeMismatch() throws Exception {
        // test_serialization_fp4_invalid: [1, 2] of F4 is one byte, not two.
        Path path = Files.write(dir.resolve("t.safetensors"), file("{" + tensor("w", "F4", "[1, 2]", 0, 2) + "}", 2));
        assertThatThrownBy(() -> SafetensorsFile.open(path)).isInstanceOfSatisfying(FuseboxException.class,
                e -> assertThat(e.problem()).isEqualTo(Problem.SIZE_MISMATCH));
    }

    @Test
    void newDtypesAreWrittenAndReadBackByteForByte() throws Exception {
        Path target = dir.resolve("out.safetensors");
        List<TensorSpec> specs = List.of(new TensorSpec("blocks", Dtype.F4, Shape.of(2, 4)),
                new TensorSpec("scales", Dtype.F8_E8M0, Shape.of(2)), new TensorSpec("z", Dtype.C64, Shape.of(1)),
                new TensorSpec("six", Dtype.F6_E3M2, Shape.of(4)));
        try (SafetensorsWriter w = SafetensorsWriter.create(target, Map.of(), specs)) {
            w.write(ByteBuffer.wrap(new byte[] {0x12, 0x34, 0x56, 0x78}));
            w.write(ByteBuffer.wrap(new byte[] {127, (byte) 130}));
            w.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}));
            w.write(ByteBuffer.wrap(new byte[] {9, 10, 11}));
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertThat(f.tensors()).extracting(TensorEntry::byteSize).containsExactly(4L, 2L, 8L, 3L);
            assertThat(f.data(f.tensor("blocks").orElseThrow()).get(ValueLayout.JAVA_BYTE, 3)).isEqualTo((byte) 0x78);
            assertThat(f.data(f.tensor("six").orElseThrow()).get(ValueLayout.JAVA_BYTE, 2)).isEqualTo((byte) 11);
        }
    }

    @Test
    void aSubByteDtypeHasNoBytesPerElement() {
        assertThat(Dtype.F4.wholeBytes()).isFalse();
        assertThat(Dtype.C64.byteSize()).isEqualTo(8);
        assertThatThrownBy(Dtype.F6_E2M3::byteSize).isInstanceOf(UnsupportedOperationException.class);
        assertThat(Shape.of(3).wholeBytes(Dtype.F4)).isFalse();
        assertThatThrownBy(() -> Shape.of(3).byteSize(Dtype.F4)).isInstanceOf(IllegalArgumentException.class);
    }
}
