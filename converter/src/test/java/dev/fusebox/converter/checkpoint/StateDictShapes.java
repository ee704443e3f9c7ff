package dev.fusebox.converter.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Reads the fixtures' {@code v5-state-dict-shapes.json}: key → [shape, torch dtype]. */
final class StateDictShapes {

    private StateDictShapes() {
    }

    /** The specs of the file, with {@code dtype} in place of the dtype the state dict was made in. */
    static List<TensorSpec> read(Path file, Dtype dtype) throws IOException {
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        List<TensorSpec> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            List<Long> dims = new ArrayList<>();
            e.getValue().get(0).forEach(d -> dims.add(d.longValue()));
            out.add(new TensorSpec(e.getKey(), dtype, Shape.of(dims)));
        }
        return out;
    }
}
