package dev.fusebox.converter.forward;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.safetensors.SafetensorsWriter;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;

/** A copy of a v5 checkpoint with two experts' slices of one layer's fused tensors exchanged: a broken conversion. */
public final class SwappedExperts {

    private SwappedExperts() {
    }

    public static void write(Path v5File, Path out, int layer, int first, int second) throws Exception {
        try (Checkpoint c = Checkpoint.open(v5File);
             SafetensorsWriter w = SafetensorsWriter.create(out, Map.of("format", "pt"), c.specs())) {
            String prefix = "model.layers." + layer + ".mlp.experts.";
            for (StoredTensor t : c.tensors().values()) {
                MemorySegment data = t.data();
                if (t.key().equals(prefix + "gate_up_proj") || t.key().equals(prefix + "down_proj")) {
                    long slice = t.byteSize() / t.shape().dim(0);
                    MemorySegment copy = MemorySegment.ofArray(data.toArray(ValueLayout.JAVA_BYTE));
                    MemorySegment.copy(data, first * slice, copy, second * slice, slice);
                    MemorySegment.copy(data, second * slice, copy, first * slice, slice);
                    data = copy;
                }
                w.write(data);
            }
            w.commit();
        }
    }
}
