package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.FloatCodec;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** An adapter made in a test from a fixture adapter: tensors dropped, added or replaced, the config edited. */
final class SyntheticAdapter {

    private final TreeMap<String, Tensor> tensors = new TreeMap<>();
    private ObjectNode config;

    private record Tensor(Dtype dtype, Shape shape, double[] values) {
    }

    private SyntheticAdapter() {
    }

    /** An adapter with no tensors yet and this config. */
    static SyntheticAdapter empty(ObjectNode config) {
        SyntheticAdapter s = new SyntheticAdapter();
        s.config = config.deepCopy();
        return s;
    }

    /** The adapter at {@code dir}, every tensor read. */
    static SyntheticAdapter from(Path dir) throws Exception {
        SyntheticAdapter s = new SyntheticAdapter();
        s.config = (ObjectNode) JsonMapper.builder().build().readTree(dir.resolve(Checkpoint.ADAPTER_CONFIG).toFile());
        try (Checkpoint c = Checkpoint.open(dir)) {
            for (StoredTensor t : c.tensors().values()) {
                double[] v = new double[Math.toIntExact(t.shape().elementCount())];
                for (int i = 0; i < v.length; i++) {
                    v[i] = FloatCodec.get(t.data(), t.dtype(), i);
                }
                s.tensors.put(t.key(), new Tensor(t.dtype(), t.shape(), v));
            }
        }
        return s;
    }

    SyntheticAdapter drop(Predicate<String> key) {
        tensors.keySet().removeIf(key);
        return this;
    }

    /** Puts a float32 tensor of {@code shape} with seeded random values in [-0.5, 0.5). */
    SyntheticAdapter random(String key, long seed, long... shape) {
        Random r = new Random(seed);
        double[] v = new double[Math.toIntExact(Shape.of(shape).elementCount())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() - 0.5);
        }
        tensors.put(key, new Tensor(Dtype.F32, Shape.of(shape), v));
        return this;
    }

    /** Puts a tensor of zeros. */
    SyntheticAdapter zeros(String key, Dtype dtype, long... shape) {
        tensors.put(key, new Tensor(dtype, Shape.of(shape), new double[Math.toIntExact(Shape.of(shape).elementCount())]));
        return this;
    }

    /** Changes the values of {@code key} in place: {@code edit} gets its row-major values. */
    SyntheticAdapter edit(String key, Consumer<double[]> edit) {
        edit.accept(tensors.get(key).values());
        return this;
    }

    SyntheticAdapter config(Consumer<ObjectNode> edit) {
        edit.accept(config);
        return this;
    }

    List<String> keys() {
        return new ArrayList<>(tensors.keySet());
    }

    /** Writes adapter_config.json and adapter_model.safetensors (tensors in key order) into {@code dir}. */
    Path write(Path dir) throws Exception {
        return write(dir, Checkpoint.ADAPTER_CONFIG, Checkpoint.ADAPTER_WEIGHTS);
    }

    /** Writes the tensors as a model instead: config.json (the config given) and model.safetensors. */
    Path writeModel(Path dir) throws Exception {
        return write(dir, Checkpoint.CONFIG, Checkpoint.SINGLE_WEIGHTS);
    }

    private Path write(Path dir, String configName, String weightsName) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(configName), config.toPrettyString());
        List<TensorSpec> specs = new ArrayList<>();
        tensors.forEach((k, t) -> specs.add(new TensorSpec(k, t.dtype, t.shape)));
        try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve(weightsName), Map.of("format", "pt"),
                specs)) {
            for (Tensor t : tensors.values()) {
                byte[] bytes = new byte[Math.multiplyExact(t.values.length, t.dtype.byteSize())];
                MemorySegment seg = MemorySegment.ofArray(bytes);
                for (int i = 0; i < t.values.length; i++) {
                    FloatCodec.set(seg, t.dtype, i, t.values[i]);
                }
                w.write(ByteBuffer.wrap(bytes));
            }
            w.commit();
        }
        return dir;
    }
}
