package dev.fusebox.converter.forward;

import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.FloatCodec;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A legacy checkpoint with a legacy adapter merged in, {@code W + scale · B @ A} computed in double and stored back
 * in the weight's own dtype: what a conversion that merges an adapter writes, rounding included.
 */
final class MergedCheckpoint {

    private MergedCheckpoint() {
    }

    static void write(Path model, Path adapter, Path out) throws Exception {
        Files.createDirectories(out);
        Files.copy(model.resolve(Checkpoint.CONFIG), out.resolve(Checkpoint.CONFIG));
        try (Checkpoint base = Checkpoint.open(model); Checkpoint lora = Checkpoint.open(adapter);
             Arena arena = Arena.ofConfined();
             SafetensorsWriter w = SafetensorsWriter.create(out.resolve(Checkpoint.SINGLE_WEIGHTS),
                     Map.of("format", "pt"), base.specs())) {
            AdapterConfig config = lora.adapterConfig().orElseThrow();
            double scale = config.useRslora() ? config.loraAlpha() / Math.sqrt(config.r())
                    : config.loraAlpha() / config.r();
            for (StoredTensor t : base.tensors().values()) {
                String module = t.key().substring(0, t.key().length() - ".weight".length());
                StoredTensor a = lora.tensors().get("base_model.model." + module + ".lora_A.weight");
                if (a == null) {
                    w.write(t.data());
                    continue;
                }
                StoredTensor b = lora.tensors().get("base_model.model." + module + ".lora_B.weight");
                int rows = (int) t.shape().dim(0);
                int cols = (int) t.shape().dim(1);
                int r = (int) a.shape().dim(0);
                float[] af = new WeightMatrix(a.key(), a.data(), a.dtype(), 0, r, cols).decodeAll();
                float[] bf = new WeightMatrix(b.key(), b.data(), b.dtype(), 0, rows, r).decodeAll();
                MemorySegment merged = arena.allocate(t.byteSize());
                for (int o = 0; o < rows; o++) {
                    for (int i = 0; i < cols; i++) {
                        double delta = 0;
                        for (int k = 0; k < r; k++) {
                            delta += (double) bf[o * r + k] * af[k * cols + i];
                        }
                        long index = (long) o * cols + i;
                        FloatCodec.set(merged, t.dtype(), index, FloatCodec.get(t.data(), t.dtype(), index)
                                + scale * delta);
                    }
                }
                w.write(merged);
            }
            w.commit();
        }
    }
}
