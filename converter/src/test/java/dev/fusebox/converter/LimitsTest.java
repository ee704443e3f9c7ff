package dev.fusebox.converter;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.ShardIndex;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Files within the format's own limits that would still exhaust memory are refused at Fusebox's limits. */
class LimitsTest {

    @TempDir
    Path dir;

    /** A safetensors file of {@code n} empty tensors: about 50 header bytes each, no data. */
    static byte[] emptyTensors(int n) {
        ByteArrayOutputStream h = new ByteArrayOutputStream();
        h.write('{');
        for (int i = 0; i < n; i++) {
            h.writeBytes(((i == 0 ? "" : ",") + "\"" + Integer.toString(i, 36)
                    + "\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}").getBytes(StandardCharsets.US_ASCII));
        }
        h.write('}');
        byte[] header = h.toByteArray();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
        out.writeBytes(header);
        return out.toByteArray();
    }

    @Test
    void aSafetensorsHeaderOfMoreTensorsThanTheLimitIsRefusedWhileParsing() throws IOException {
        Path f = dir.resolve("many.safetensors");
        Files.write(f, emptyTensors(Limits.MAX_TENSORS_PER_FILE + 1));
        assertRefused(f, "more than " + Limits.MAX_TENSORS_PER_FILE + " tensors");
    }

    @Test
    void anIndexListingMoreTensorsThanTheLimitIsRefused() throws IOException {
        StringBuilder json = new StringBuilder("{\"weight_map\":{");
        for (int i = 0; i <= Limits.MAX_TENSORS; i++) {
            json.append(i == 0 ? "" : ",").append('"').append(Integer.toString(i, 36)).append("\":\"m.safetensors\"");
        }
        Files.writeString(dir.resolve(ShardIndex.FILE_NAME), json.append("}}"));
        assertRefused(dir, "lists more than " + Limits.MAX_TENSORS + " tensors");
    }

    @Test
    void aTorchFileOfMoreTensorsThanTheLimitIsRefused() throws IOException {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.writeBytes(new byte[] {(byte) 0x80, 2, '}', '('});
        for (int i = 0; i <= Limits.MAX_TENSORS_PER_FILE; i++) {
            byte[] key = Integer.toString(i, 36).getBytes(StandardCharsets.US_ASCII);
            p.write(0x8c);
            p.write(key.length);
            p.writeBytes(key);
            p.write('N');
        }
        p.writeBytes(new byte[] {'u', '.'});
        Path f = dir.resolve("many.bin");
        Files.write(f, zipOf(p.toByteArray()));
        assertRefused(f, "more than the " + Limits.MAX_TENSORS_PER_FILE);
    }

    @Test
    void devicesAndPipesAreNeverRead() throws Exception {
        Path zero = Path.of("/dev/zero");
        Path model = Files.createDirectory(dir.resolve("model"));
        Files.createSymbolicLink(model.resolve(ShardIndex.FILE_NAME), zero);
        Files.createSymbolicLink(dir.resolve("zero.safetensors"), zero);
        Path fifo = dir.resolve("pipe.safetensors");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        for (Path p : new Path[] {model.resolve(ShardIndex.FILE_NAME), dir.resolve("zero.safetensors")}) {
            assertThatThrownBy(() -> Checkpoint.open(p).close()).as(p.toString())
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.getMessage()).contains("is a link to /dev/zero, outside"));
        }
        assertThatThrownBy(() -> Checkpoint.open(fifo).close())
                .isInstanceOfSatisfying(FuseboxException.class, e -> assertThat(e.getMessage()).isEqualTo(
                        fifo + ": is a named pipe (FIFO), not a regular file; Fusebox reads only regular files"));
        Files.copy(Fixtures.tiny("legacy-base/model.safetensors"), model.resolve("model.safetensors"));
        Files.delete(model.resolve(ShardIndex.FILE_NAME));
        Files.createSymbolicLink(model.resolve("config.json"), zero);
        assertThatThrownBy(() -> Checkpoint.open(model).close())
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.getMessage()).contains("config.json: is a link to /dev/zero, outside"));
    }

    /** A one-record torch archive: the pickle as archive/data.pkl, stored. */
    private static byte[] zipOf(byte[] pickle) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (var z = new java.util.zip.ZipOutputStream(out)) {
            var e = new java.util.zip.ZipEntry("archive/data.pkl");
            e.setMethod(java.util.zip.ZipEntry.STORED);
            e.setSize(pickle.length);
            var crc = new java.util.zip.CRC32();
            crc.update(pickle);
            e.setCrc(crc.getValue());
            z.putNextEntry(e);
            z.write(pickle);
            z.closeEntry();
        }
        return out.toByteArray();
    }

    private static void assertRefused(Path path, String words) {
        assertThatThrownBy(() -> Checkpoint.open(path).close())
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.TOO_MANY_TENSORS);
                    assertThat(e.getMessage()).contains(words);
                });
    }
}
