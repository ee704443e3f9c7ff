package dev.fusebox.viewmodel.mapping;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.testsupport.Fixtures;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The tiny legacy fixture with its tensors stored last layer first, as a sharded checkpoint whose first shard
 * holds the last layers is read: the plan's targets then come in that order.
 */
final class LastLayerFirst {

    private LastLayerFirst() {
    }

    static Path write(Path dir) throws Exception {
        Path fixture = Fixtures.tiny("legacy-base");
        Files.createDirectories(dir);
        Files.copy(fixture.resolve("config.json"), dir.resolve("config.json"));
        try (Checkpoint full = Checkpoint.open(fixture)) {
            List<StoredTensor> reordered = full.tensors().values().stream()
                    .sorted(Comparator.comparing((StoredTensor t) -> !t.key().contains(".layers.1.")))
                    .toList();
            try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve("model.safetensors"), Map.of(),
                    reordered.stream().map(StoredTensor::spec).toList())) {
                for (StoredTensor t : reordered) {
                    w.write(t.data());
                }
                w.commit();
            }
        }
        return dir;
    }
}
