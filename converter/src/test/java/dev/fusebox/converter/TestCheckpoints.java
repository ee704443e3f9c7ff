package dev.fusebox.converter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Small checkpoints the tests build: a config.json and a model.safetensors of reproducible random bytes. */
public final class TestCheckpoints {

    private TestCheckpoints() {
    }

    public static TensorSpec f32(String key, long... dims) {
        return new TensorSpec(key, Dtype.F32, Shape.of(dims));
    }

    /** Writes {@code dir/config.json} (when {@code modelType} is not null) and {@code dir/model.safetensors}. */
    public static Path write(Path dir, String modelType, Map<String, Object> config, List<TensorSpec> tensors)
            throws IOException {
        Files.createDirectories(dir);
        if (modelType != null) {
            ObjectMapper m = new ObjectMapper();
            ObjectNode c = m.createObjectNode();
            c.put("model_type", modelType);
            config.forEach((k, v) -> c.set(k, m.valueToTree(v)));
            Files.writeString(dir.resolve("config.json"), m.writeValueAsString(c));
        }
        writeSafetensors(dir.resolve("model.safetensors"), tensors);
        return dir;
    }

    /** A safetensors file whose every tensor holds bytes drawn from a generator seeded with its key. */
    public static void writeSafetensors(Path file, List<TensorSpec> tensors) throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.create(file, Map.of("format", "pt"), tensors)) {
            for (TensorSpec t : tensors) {
                w.write(ByteBuffer.wrap(bytes(t)));
            }
            w.commit();
        }
    }

    /** The bytes {@link #writeSafetensors} gives a tensor. */
    public static byte[] bytes(TensorSpec t) {
        byte[] b = new byte[Math.toIntExact(t.byteSize())];
        new SplittableRandom(t.key().hashCode()).nextBytes(b);
        return b;
    }
}
