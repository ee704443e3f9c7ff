package dev.fusebox.converter.checkpoint;

import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the shard index: each input is written as model.safetensors.index.json into a checkpoint directory that
 * holds two shards, a sub-directory and a symbolic link to a shard outside it. Every input either opens, with
 * every tensor read from a shard inside the directory, or fails with a FuseboxException.
 */
class ShardIndexFuzzTest {

    @TempDir
    static Path root;

    static Path checkpoint;

    @BeforeAll
    static void layOutTheCheckpoint() throws Exception {
        checkpoint = Files.createDirectory(root.resolve("ckpt"));
        shard(checkpoint.resolve("model-00001-of-00002.safetensors"), "a", "b");
        shard(checkpoint.resolve("model-00002-of-00002.safetensors"), "c");
        shard(root.resolve("outside.safetensors"), "d");
        Files.createDirectory(checkpoint.resolve("sub"));
        Files.createSymbolicLink(checkpoint.resolve("link.safetensors"), root.resolve("outside.safetensors"));
    }

    private static void shard(Path file, String... keys) throws Exception {
        List<TensorSpec> specs = java.util.Arrays.stream(keys).map(k -> new TensorSpec(k, Dtype.F32, Shape.of(2))).toList();
        try (SafetensorsWriter w = SafetensorsWriter.create(file, Map.of(), specs)) {
            for (int i = 0; i < specs.size(); i++) {
                w.write(ByteBuffer.allocate(8));
            }
            w.commit();
        }
    }

    @FuzzTest(maxDuration = "5m")
    @DictionaryFile(resourcePath = "index.dict")
    void everyIndexOpensOrIsRefusedWithAFuseboxException(byte[] input) throws Exception {
        Files.write(checkpoint.resolve(ShardIndex.FILE_NAME), input);
        try (Checkpoint c = Checkpoint.open(checkpoint)) {
            Path real = checkpoint.toRealPath();
            for (StoredTensor t : c.tensors().values()) {
                assertThat(t.file().path().toRealPath()).startsWith(real);
            }
            assertThat(c.tensors().keySet()).isEqualTo(c.index().orElseThrow().weightMap().keySet());
        } catch (FuseboxException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }
}
