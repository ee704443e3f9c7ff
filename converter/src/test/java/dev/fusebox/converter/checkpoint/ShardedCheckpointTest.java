package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.safetensors.SafetensorsFile;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ShardedCheckpointTest {

    @TempDir
    Path dir;

    Path model;
    Map<String, String> weightMap = new LinkedHashMap<>();

    /** Splits the tiny legacy base into two shards with an index, as transformers shards a large model. */
    @BeforeEach
    void shard() throws Exception {
        model = Files.createDirectory(dir.resolve("model"));
        Files.copy(Fixtures.tiny("legacy-base/config.json"), model.resolve("config.json"));
        try (SafetensorsFile source = SafetensorsFile.open(Fixtures.tiny("legacy-base/model.safetensors"))) {
            List<TensorEntry> all = source.tensors();
            int half = all.size() / 2;
            writeShard(source, all.subList(0, half), "model-00001-of-00002.safetensors");
            writeShard(source, all.subList(half, all.size()), "model-00002-of-00002.safetensors");
        }
        writeIndex(weightMap);
    }

    private void writeShard(SafetensorsFile source, List<TensorEntry> tensors, String name) throws Exception {
        try (SafetensorsWriter w = SafetensorsWriter.create(model.resolve(name), Map.of("format", "pt"),
                tensors.stream().map(TensorEntry::spec).toList())) {
            for (TensorEntry t : tensors) {
                w.write(source.data(t));
                weightMap.put(t.key(), name);
            }
            w.commit();
        }
    }

    private void writeIndex(Map<String, String> map) throws IOException {
        StringBuilder json = new StringBuilder("{\"metadata\":{\"total_size\":822528},\"weight_map\":{");
        String sep = "";
        for (Map.Entry<String, String> e : map.entrySet()) {
            json.append(sep).append('"').append(e.getKey()).append("\":\"").append(e.getValue()).append('"');
            sep = ",";
        }
        Files.writeString(model.resolve(ShardIndex.FILE_NAME), json.append("}}"));
    }

    @Test
    void aShardedCheckpointOpensWithEveryTensorFromItsShard() throws Exception {
        try (Checkpoint c = Checkpoint.open(model); Checkpoint single = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            assertThat(c.files()).hasSize(2);
            assertThat(c.index()).isPresent();
            assertThat(c.specs()).containsExactlyInAnyOrderElementsOf(single.specs());
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
            for (StoredTensor t : c.tensors().values()) {
                assertThat(t.data().mismatch(single.tensor(t.key()).orElseThrow().data())).isEqualTo(-1L);
            }
        }
    }

    @Test
    void theIndexFileItselfOpensTheCheckpoint() throws Exception {
        try (Checkpoint c = Checkpoint.open(model.resolve(ShardIndex.FILE_NAME))) {
            assertThat(c.tensors()).hasSize(41);
            assertThat(c.config()).isPresent();
        }
    }

    @Test
    void aShardNameWithDotDotIsRefused() throws Exception {
        Files.copy(model.resolve("model-00001-of-00002.safetensors"), dir.resolve("outside.safetensors"));
        weightMap.replaceAll((k, v) -> v.endsWith("00001-of-00002.safetensors") ? "../outside.safetensors" : v);
        writeIndex(weightMap);
        assertRefused(Problem.SHARD_OUTSIDE_CHECKPOINT, "leaves the checkpoint directory");
    }

    @Test
    void anAbsoluteShardPathIsRefused() throws Exception {
        Path abs = model.resolve("model-00001-of-00002.safetensors").toAbsolutePath();
        weightMap.replaceAll((k, v) -> v.endsWith("00001-of-00002.safetensors") ? abs.toString() : v);
        writeIndex(weightMap);
        assertRefused(Problem.SHARD_OUTSIDE_CHECKPOINT, "absolute");
    }

    @Test
    void aSymlinkLeadingOutOfTheCheckpointIsRefused() throws Exception {
        Path outside = dir.resolve("elsewhere.safetensors");
        Files.move(model.resolve("model-00002-of-00002.safetensors"), outside);
        Files.createSymbolicLink(model.resolve("model-00002-of-00002.safetensors"), outside);
        assertRefused(Problem.LINK_OUTSIDE_CHECKPOINT, "is a link to " + outside.toRealPath() + ", outside");
    }

    @Test
    void aMissingShardIsNamed() throws Exception {
        Files.delete(model.resolve("model-00002-of-00002.safetensors"));
        assertRefused(Problem.MISSING_SHARD, "'model-00002-of-00002.safetensors', which does not exist");
    }

    @Test
    void anIndexEntryPointingAtTheWrongShardIsRefused() throws Exception {
        String key = weightMap.keySet().iterator().next();
        weightMap.put(key, "model-00002-of-00002.safetensors");
        writeIndex(weightMap);
        assertRefused(Problem.INDEX_MISMATCH, key);
    }

    @Test
    void aShardTensorTheIndexOmitsIsRefused() throws Exception {
        String key = weightMap.keySet().iterator().next();
        weightMap.remove(key);
        writeIndex(weightMap);
        assertRefused(Problem.INDEX_MISMATCH, "does not list it");
    }

    @Test
    void anIndexWithoutAWeightMapIsRefused() throws Exception {
        Files.writeString(model.resolve(ShardIndex.FILE_NAME), "{\"metadata\":{}}");
        assertRefused(Problem.INVALID_INDEX, "no weight_map");
    }

    @Test
    void anIndexThatIsNotJsonIsRefused() throws Exception {
        Files.writeString(model.resolve(ShardIndex.FILE_NAME), "{\"weight_map\": {");
        assertRefused(Problem.INVALID_INDEX, "not valid JSON");
    }

    @Test
    void aConfigWithAWrongTypeNamesTheField() throws Exception {
        Files.writeString(model.resolve("config.json"), "{\"model_type\":\"mixtral\",\"hidden_size\":\"big\"}");
        assertRefused(Problem.INVALID_CONFIG, "hidden_size is \"big\", expected an integer");
    }

    private void assertRefused(Problem problem, String words) {
        assertThatThrownBy(() -> Checkpoint.open(model).close())
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(problem);
                    assertThat(e.getMessage()).contains(words);
                });
    }
}
