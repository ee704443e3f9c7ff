package dev.fusebox.converter.safetensors;

import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class SafetensorsRoundTripTest {

    @TempDir
    Path dir;

    @Test
    void theFixtureFileReadsWithItsMetadataAndTensorsInDataOrder() throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.tiny("legacy-base/model.safetensors"))) {
            assertThat(f.metadata()).containsEntry("format", "pt");
            assertThat(f.tensors()).hasSize(41);
            assertThat(f.header().dataStart() % 8).isZero();
            long previousEnd = 0;
            for (TensorEntry t : f.tensors()) {
                assertThat(t.begin()).isEqualTo(previousEnd);
                previousEnd = t.end();
            }
            TensorEntry gate = f.tensor("model.layers.1.block_sparse_moe.gate.weight").orElseThrow();
            assertThat(gate.dtype()).isEqualTo(Dtype.F32);
            assertThat(gate.shape()).isEqualTo(Shape.of(4, 64));
            assertThat(f.data(gate).byteSize()).isEqualTo(4 * 64 * 4);
        }
    }

    @Test
    void mappedDataIsTheFileBytesAtTheTensorsOffset() throws Exception {
        Path path = Fixtures.tiny("legacy-base/model.safetensors");
        byte[] all = Files.readAllBytes(path);
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            TensorEntry t = f.tensor("model.norm.weight").orElseThrow();
            MemorySegment s = f.data(t);
            int offset = (int) f.fileOffset(t);
            for (int i = 0; i < s.byteSize(); i++) {
                assertThat(s.get(ValueLayout.JAVA_BYTE, i)).isEqualTo(all[offset + i]);
            }
        }
    }

    @Test
    void writtenFilesReadBackWithTheSameTensorsAndAnAlignedHeader() throws Exception {
        Path target = dir.resolve("out.safetensors");
        List<TensorSpec> specs = List.of(
                new TensorSpec("b", Dtype.BF16, Shape.of(3)),
                new TensorSpec("a", Dtype.F32, Shape.of(2, 2)),
                new TensorSpec("z", Dtype.I8, Shape.of()));
        try (SafetensorsWriter w = SafetensorsWriter.create(target, Map.of("format", "pt"), specs)) {
            w.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6}));
            w.write(ByteBuffer.wrap(new byte[16]));
            w.write(ByteBuffer.wrap(new byte[] {42}));
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertThat(f.tensors()).extracting(TensorEntry::key).containsExactly("b", "a", "z");
            assertThat(f.header().dataStart() % 8).isZero();
            assertThat(f.data(f.tensor("z").orElseThrow()).get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 42);
            assertThat(f.data(f.tensor("b").orElseThrow()).get(ValueLayout.JAVA_BYTE, 5)).isEqualTo((byte) 6);
        }
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(target);
        }
    }

    @Test
    void aWriterClosedWithoutCommitLeavesNothingBehind() throws Exception {
        Path target = dir.resolve("never.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(target, Map.of(),
                List.of(new TensorSpec("a", Dtype.F32, Shape.of(4))))) {
            w.write(ByteBuffer.wrap(new byte[8]));
        }
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void aCommitWithMissingBytesFailsAndLeavesNoFile() throws Exception {
        Path target = dir.resolve("short.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(target, Map.of(),
                List.of(new TensorSpec("a", Dtype.F32, Shape.of(4))))) {
            w.write(ByteBuffer.wrap(new byte[8]));
            org.assertj.core.api.Assertions.assertThatThrownBy(w::commit).hasMessageContaining("expected 16");
        }
        assertThat(Files.exists(target)).isFalse();
    }

    @Test
    void transferCopiesAFixtureTensorByteForByte() throws Exception {
        Path source = Fixtures.tiny("legacy-base/model.safetensors");
        Path target = dir.resolve("copy.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(source);
             FileChannel in = FileChannel.open(source, StandardOpenOption.READ)) {
            TensorEntry t = f.tensor("lm_head.weight").orElseThrow();
            try (SafetensorsWriter w = SafetensorsWriter.create(target, Map.of(), List.of(t.spec()))) {
                SafetensorsWriter.transfer(in, f.fileOffset(t), t.byteSize(), w.channel());
                w.commit();
            }
            try (SafetensorsFile copy = SafetensorsFile.open(target)) {
                MemorySegment a = f.data(t);
                MemorySegment b = copy.data(copy.tensor("lm_head.weight").orElseThrow());
                assertThat(a.mismatch(b)).isEqualTo(-1L);
            }
        }
    }

    @Test
    void headersArePaddedWithSpacesToEightBytes() throws IOException {
        byte[] h = SafetensorsWriter.header(Map.of(), List.of(new TensorSpec("abc", Dtype.F16, Shape.of(1))));
        assertThat((8 + h.length) % 8).isZero();
        String text = new String(h, java.nio.charset.StandardCharsets.UTF_8);
        assertThat(text.stripTrailing()).isEqualTo("{\"abc\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}");
        assertThat(text.substring(text.stripTrailing().length())).matches(" *");
    }
}
