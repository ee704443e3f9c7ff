package dev.fusebox.converter.forward;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A copy of an adapter folder without the LoRA pairs whose keys contain a fragment: an adapter that lost some
 * modules' LoRA, as PEFT silently drops Qwen2-MoE's shared-expert LoRA when it converts the adapter itself.
 */
final class AdapterWithout {

    private AdapterWithout() {
    }

    static Path write(Path adapter, String fragment, Path out) throws Exception {
        Files.createDirectories(out);
        Files.copy(adapter.resolve("adapter_config.json"), out.resolve("adapter_config.json"));
        try (Checkpoint c = Checkpoint.open(adapter)) {
            List<TensorSpec> kept = c.specs().stream().filter(t -> !t.key().contains(fragment)).toList();
            if (kept.size() == c.specs().size()) {
                throw new IllegalArgumentException("no key of " + adapter + " contains '" + fragment + "'");
            }
            try (SafetensorsWriter w = SafetensorsWriter.create(out.resolve("adapter_model.safetensors"),
                    Map.of("format", "pt"), kept)) {
                for (TensorSpec t : kept) {
                    StoredTensor s = c.tensor(t.key()).orElseThrow();
                    w.write(s.data());
                }
                w.commit();
            }
        }
        return out;
    }
}
