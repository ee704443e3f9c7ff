package dev.fusebox.converter.failure;

import dev.fusebox.converter.safetensors.SafetensorsFile;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The safetensors writer under a disk that fills up or fails at every kind of position: in the length prefix, in
 * the header, in every tensor, at the last byte, at the rename. Each time the write fails with the I/O error, no
 * file exists under the target's name, no temporary file is left, and the file read from is unchanged.
 */
class WriterFaultInjectionTest {

    @TempDir
    Path dir;

    FaultyFileSystem fs;
    Path input;
    String inputDigest;

    @BeforeEach
    void copyTheInput() throws Exception {
        fs = new FaultyFileSystem(FileSystems.getDefault());
        input = Files.copy(Fixtures.tiny("legacy-base/model.safetensors"), dir.resolve("input.safetensors"));
        inputDigest = sha256(input);
    }

    static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    /** Copies the input through the writer to {@code target}, tensor by tensor. */
    private void copy(Path target) throws Exception {
        try (SafetensorsFile source = SafetensorsFile.open(input);
             SafetensorsWriter w = SafetensorsWriter.create(target, source.metadata(),
                     source.tensors().stream().map(TensorEntry::spec).toList())) {
            for (TensorEntry t : source.tensors()) {
                w.write(source.data(t));
            }
            w.commit();
        }
    }

    @Test
    void aWriteWithoutFaultsProducesTheSameBytes() throws Exception {
        Path target = fs.wrap(dir.resolve("out.safetensors"));
        copy(target);
        assertThat(sha256(dir.resolve("out.safetensors"))).isEqualTo(inputDigest);
        assertThat(fs.written()).isEqualTo(Files.size(input));
    }

    @Test
    void aFullDiskAtAnyPositionLeavesNoOutputAndTheInputUnchanged() throws Exception {
        long size = Files.size(input);
        long headerEnd;
        try (SafetensorsFile s = SafetensorsFile.open(input)) {
            headerEnd = s.header().dataStart();
        }
        List<Long> positions = Stream.concat(
                LongStream.of(0, 1, 7, 8, 9, headerEnd - 1, headerEnd, headerEnd + 1, size - 1).boxed(),
                LongStream.range(1, 64).map(i -> i * size / 64).boxed()).distinct().toList();
        for (long at : positions) {
            for (String failure : List.of("No space left on device", "Input/output error")) {
                fs.failWritesAfter(at, failure);
                Path target = fs.wrap(dir.resolve("out.safetensors"));
                assertThatThrownBy(() -> copy(target)).as("failing after %d bytes", at)
                        .isInstanceOf(IOException.class).hasMessageContaining(failure);
                assertNothingLeft();
            }
        }
    }

    @Test
    void aRenameThatFailsLeavesNoOutputEither() throws Exception {
        fs.failMoves(true);
        assertThatThrownBy(() -> copy(fs.wrap(dir.resolve("out.safetensors")))).isInstanceOf(IOException.class)
                .hasMessageContaining("rename");
        assertNothingLeft();
    }

    private void assertNothingLeft() throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(input);
        }
        assertThat(sha256(input)).isEqualTo(inputDigest);
    }
}
