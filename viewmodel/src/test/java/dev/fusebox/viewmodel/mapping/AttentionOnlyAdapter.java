package dev.fusebox.viewmodel.mapping;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.testsupport.Fixtures;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The sample's adapter cut down to its attention LoRA: the same on legacy and v5 models, so nothing to convert. */
final class AttentionOnlyAdapter {

    private AttentionOnlyAdapter() {
    }

    static Path write(Path dir) throws Exception {
        Path fixture = Fixtures.tiny("legacy-lora-attn_experts");
        Files.createDirectories(dir);
        Files.copy(fixture.resolve(Checkpoint.ADAPTER_CONFIG), dir.resolve(Checkpoint.ADAPTER_CONFIG));
        try (Checkpoint full = Checkpoint.open(fixture)) {
            List<StoredTensor> kept = full.tensors().values().stream().filter(t -> t.key().contains(".self_attn."))
                    .toList();
            try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve(Checkpoint.ADAPTER_WEIGHTS), Map.of(),
                    kept.stream().map(StoredTensor::spec).toList())) {
                for (StoredTensor t : kept) {
                    w.write(t.data());
                }
                w.commit();
            }
        }
        return dir;
    }
}
