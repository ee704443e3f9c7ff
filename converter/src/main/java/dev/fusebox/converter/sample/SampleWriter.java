package dev.fusebox.converter.sample;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FileTrees;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.ShardIndex;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.FloatCodec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Writes a synthetic Mixtral in the legacy (transformers 4.x) layout: config.json as 4.x writes it and the weights
 * in safetensors, sharded with an index past {@code maxShardBytes}; optionally a legacy PEFT LoRA adapter on
 * q/k/v/o_proj and w1/w2/w3 in a directory beside it. Values are seeded, uniform, and scaled so activations stay
 * near unit size through the layers (linear weights with standard deviation 1/√in, embeddings 1, norms near 1), so
 * routing and top-5 tokens are varied rather than degenerate. Streams in bounded buffers; each directory is
 * written under a temporary name and moved into place when complete.
 */
public final class SampleWriter {

    /** What transformers shards at by default ("5GB"). */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;
    /** The suffix of the adapter directory written beside the model. */
    public static final String ADAPTER_SUFFIX = "-lora";

    private static final int CHUNK_ELEMENTS = 1 << 16;
    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
    private static final List<String> ADAPTER_TARGETS = List.of("q_proj", "k_proj", "v_proj", "o_proj", "w1", "w2",
            "w3");

    private final SamplePreset preset;
    private final long seed;
    private final Dtype dtype;

    public SampleWriter(SamplePreset preset, long seed) {
        this(preset, seed, preset.dtype());
    }

    /** A preset's sizes with another float dtype, for measuring how storage precision moves the logits. */
    public SampleWriter(SamplePreset preset, long seed, Dtype dtype) {
        if (!dtype.decodable()) {
            throw new IllegalArgumentException(dtype + " is not a float dtype");
        }
        this.preset = preset;
        this.seed = seed;
        this.dtype = dtype;
    }

    /** What was written: the model directory, the adapter directory if asked for, every file and the bytes. */
    public record Result(Path model, Optional<Path> adapter, List<Path> files, long bytes) {
    }

    /** Where the adapter of a sample at {@code model} goes. */
    public static Path adapterDirectory(Path model) {
        Path abs = model.toAbsolutePath().normalize();
        return abs.resolveSibling(abs.getFileName() + ADAPTER_SUFFIX);
    }

    public Result write(Path out, boolean adapter, long maxShardBytes, ProgressListener progress,
                        Cancellation cancellation) throws FuseboxException {
        Path model = out.toAbsolutePath().normalize();
        Path adapterDir = adapterDirectory(model);
        checkFree(model);
        if (adapter) {
            checkFree(adapterDir);
        }
        List<SampleTensor> modelTensors = modelTensors();
        List<SampleTensor> adapterTensors = adapter ? adapterTensors() : List.of();
        long total = bytes(modelTensors) + bytes(adapterTensors);
        long[] done = {0};
        List<Path> files = new ArrayList<>();
        files.addAll(writeDirectory(model, dir -> {
            List<Path> written = new ArrayList<>(writeModel(dir, modelTensors, maxShardBytes, total, done, progress,
                    cancellation));
            writeJson(dir.resolve(Checkpoint.CONFIG), config());
            written.add(dir.resolve(Checkpoint.CONFIG));
            return written;
        }));
        if (adapter) {
            files.addAll(writeDirectory(adapterDir, dir -> {
                Path weights = writeFile(dir.resolve(Checkpoint.ADAPTER_WEIGHTS), adapterTensors, total, done,
                        progress, cancellation);
                writeJson(dir.resolve(Checkpoint.ADAPTER_CONFIG), adapterConfig(model.getFileName().toString()));
                return List.of(weights, dir.resolve(Checkpoint.ADAPTER_CONFIG));
            }));
        }
        return new Result(model, adapter ? Optional.of(adapterDir) : Optional.empty(), files, total);
    }

    /** The tensors of the model, in the order they are written. */
    List<SampleTensor> modelTensors() {
        SamplePreset p = preset;
        Dtype d = dtype;
        int h = p.hidden();
        int q = p.heads() * p.headDim();
        int kv = p.kvHeads() * p.headDim();
        List<SampleTensor> out = new ArrayList<>();
        out.add(SampleTensor.of(spec("model.embed_tokens.weight", d, p.vocab(), h), 0, 1));
        for (int l = 0; l < p.layers(); l++) {
            String layer = "model.layers." + l + ".";
            out.add(SampleTensor.of(spec(layer + "input_layernorm.weight", d, h), 1, 0.03));
            out.add(linear(layer + "self_attn.q_proj.weight", q, h));
            out.add(linear(layer + "self_attn.k_proj.weight", kv, h));
            out.add(linear(layer + "self_attn.v_proj.weight", kv, h));
            out.add(linear(layer + "self_attn.o_proj.weight", h, q));
            out.add(SampleTensor.of(spec(layer + "post_attention_layernorm.weight", d, h), 1, 0.03));
            String moe = layer + "block_sparse_moe.";
            out.add(linear(moe + "gate.weight", p.experts(), h));
            for (int e = 0; e < p.experts(); e++) {
                String expert = moe + "experts." + e + ".";
                out.add(linear(expert + "w1.weight", p.intermediate(), h));
                out.add(linear(expert + "w2.weight", h, p.intermediate()));
                out.add(linear(expert + "w3.weight", p.intermediate(), h));
            }
        }
        out.add(SampleTensor.of(spec("model.norm.weight", d, h), 1, 0.03));
        out.add(linear("lm_head.weight", p.vocab(), h));
        return out;
    }

    /**
     * The adapter's factors: A with standard deviation 1/√in like a linear layer, B small enough that the update
     * (scale 2) moves each adapted output by about a fifth of its size.
     */
    List<SampleTensor> adapterTensors() {
        SamplePreset p = preset;
        int r = p.rank();
        List<SampleTensor> out = new ArrayList<>();
        for (SampleTensor t : modelTensors()) {
            String key = t.spec().key();
            String module = key.substring(0, key.length() - ".weight".length());
            String name = module.substring(module.lastIndexOf('.') + 1);
            if (!ADAPTER_TARGETS.contains(name)) {
                continue;
            }
            long outDim = t.spec().shape().dim(0);
            long inDim = t.spec().shape().dim(1);
            String prefix = "base_model.model." + module;
            out.add(SampleTensor.of(spec(prefix + ".lora_A.weight", dtype, r, inDim), 0, 1 / Math.sqrt((double) inDim)));
            out.add(SampleTensor.of(spec(prefix + ".lora_B.weight", dtype, outDim, r), 0, 0.1 / Math.sqrt(r)));
        }
        return out;
    }

    private SampleTensor linear(String key, long out, long in) {
        return SampleTensor.of(spec(key, dtype, out, in), 0, 1 / Math.sqrt((double) in));
    }

    private static TensorSpec spec(String key, Dtype dtype, long... dims) {
        return new TensorSpec(key, dtype, Shape.of(dims));
    }

    /** config.json as transformers 4.46 writes it for this preset. */
    ObjectNode config() {
        SamplePreset p = preset;
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.putArray("architectures").add("MixtralForCausalLM");
        c.put("attention_dropout", 0.0);
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("hidden_act", "silu");
        c.put("hidden_size", p.hidden());
        c.put("initializer_range", 0.02);
        c.put("intermediate_size", p.intermediate());
        c.put("max_position_embeddings", 256);
        c.put("model_type", "mixtral");
        c.put("num_attention_heads", p.heads());
        c.put("num_experts_per_tok", p.topK());
        c.put("num_hidden_layers", p.layers());
        c.put("num_key_value_heads", p.kvHeads());
        c.put("num_local_experts", p.experts());
        c.put("output_router_logits", false);
        c.put("rms_norm_eps", 1e-05);
        c.put("rope_theta", 1000000.0);
        c.put("router_aux_loss_coef", 0.02);
        c.put("router_jitter_noise", 0.0);
        c.putNull("sliding_window");
        c.put("tie_word_embeddings", false);
        c.put("torch_dtype", dtype.torchName());
        c.put("transformers_version", "4.46.3");
        c.put("use_cache", true);
        c.put("vocab_size", p.vocab());
        return c;
    }

    /** adapter_config.json as PEFT 0.13 writes it for a LoRA on the attention and expert projections. */
    ObjectNode adapterConfig(String baseName) {
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.putObject("alpha_pattern");
        c.putNull("auto_mapping");
        c.put("base_model_name_or_path", baseName);
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        c.putNull("layer_replication");
        c.putNull("layers_pattern");
        c.putNull("layers_to_transform");
        c.put("lora_alpha", 2 * preset.rank());
        c.put("lora_dropout", 0.0);
        c.putNull("modules_to_save");
        c.put("peft_type", "LORA");
        c.put("r", preset.rank());
        c.putObject("rank_pattern");
        c.putNull("revision");
        ArrayNode targets = c.putArray("target_modules");
        ADAPTER_TARGETS.forEach(targets::add);
        c.put("task_type", "CAUSAL_LM");
        c.put("use_dora", false);
        c.put("use_rslora", false);
        return c;
    }

    private List<Path> writeModel(Path dir, List<SampleTensor> tensors, long maxShardBytes, long total, long[] done,
                                  ProgressListener progress, Cancellation cancellation)
            throws FuseboxException, IOException {
        List<List<SampleTensor>> shards = new ArrayList<>();
        long size = 0;
        for (SampleTensor t : tensors) {
            long n = t.spec().byteSize();
            if (shards.isEmpty() || (size > 0 && Math.addExact(size, n) > maxShardBytes)) {
                shards.add(new ArrayList<>());
                size = 0;
            }
            shards.getLast().add(t);
            size = Math.addExact(size, n);
        }
        if (shards.size() == 1) {
            return List.of(writeFile(dir.resolve(Checkpoint.SINGLE_WEIGHTS), tensors, total, done, progress,
                    cancellation));
        }
        List<Path> files = new ArrayList<>();
        Map<String, String> weightMap = new TreeMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            files.add(writeFile(dir.resolve(name), shards.get(i), total, done, progress, cancellation));
            shards.get(i).forEach(t -> weightMap.put(t.spec().key(), name));
        }
        ObjectNode index = JsonNodeFactory.instance.objectNode();
        index.putObject("metadata").put("total_size", bytes(tensors));
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        writeJson(dir.resolve(ShardIndex.FILE_NAME), index);
        files.add(dir.resolve(ShardIndex.FILE_NAME));
        return files;
    }

    private Path writeFile(Path file, List<SampleTensor> tensors, long total, long[] done, ProgressListener progress,
                           Cancellation cancellation) throws FuseboxException, IOException {
        List<TensorSpec> specs = tensors.stream().map(SampleTensor::spec).toList();
        ByteBuffer buffer = ByteBuffer.allocate(CHUNK_ELEMENTS * 8).order(ByteOrder.LITTLE_ENDIAN);
        try (SafetensorsWriter w = SafetensorsWriter.create(file, Map.of("format", "pt"), specs)) {
            for (SampleTensor t : tensors) {
                cancellation.check();
                progress.onProgress(new Progress(done[0], total, 0, 0, t.spec().key()));
                SplittableRandom random = new SplittableRandom(tensorSeed(t.spec().key()));
                double halfWidth = t.std() * Math.sqrt(3);
                long remaining = t.spec().shape().elementCount();
                while (remaining > 0) {
                    int n = (int) Math.min(remaining, CHUNK_ELEMENTS);
                    buffer.clear();
                    for (int i = 0; i < n; i++) {
                        float v = (float) (t.mean() + halfWidth * (2 * random.nextDouble() - 1));
                        put(buffer, t.spec().dtype(), v);
                    }
                    buffer.flip();
                    w.write(buffer);
                    remaining -= n;
                }
                done[0] = Math.addExact(done[0], t.spec().byteSize());
            }
            w.commit();
        }
        progress.onProgress(new Progress(done[0], total, 0, 0, file.getFileName().toString()));
        return file;
    }

    private static void put(ByteBuffer buffer, Dtype dtype, float v) {
        switch (dtype) {
            case F32 -> buffer.putFloat(v);
            case F64 -> buffer.putDouble(v);
            case F16 -> buffer.putShort(Float.floatToFloat16(v));
            case BF16 -> buffer.putShort(FloatCodec.floatToBf16(v));
            default -> throw new IllegalArgumentException(dtype + " is not a float dtype");
        }
    }

    /** A seed per tensor, from the sample's seed and the key, mixed so nearby keys draw unrelated values. */
    private long tensorSeed(String key) {
        long h = seed * 0x9E3779B97F4A7C15L;
        for (int i = 0; i < key.length(); i++) {
            h = (h ^ key.charAt(i)) * 0x100000001B3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return h;
    }

    private static long bytes(List<SampleTensor> tensors) {
        long n = 0;
        for (SampleTensor t : tensors) {
            n = Math.addExact(n, t.spec().byteSize());
        }
        return n;
    }

    private static void writeJson(Path file, ObjectNode node) throws IOException {
        Files.writeString(file, JSON.writeValueAsString(node) + "\n");
    }

    private static void checkFree(Path dir) throws FuseboxException {
        if (!Files.exists(dir)) {
            return;
        }
        boolean emptyDir = false;
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
                emptyDir = !s.iterator().hasNext();
            } catch (IOException e) {
                throw new FuseboxException(Problem.IO_ERROR, dir, "could not be listed (" + IoReason.of(e) + ")", e);
            }
        }
        if (!emptyDir) {
            throw new FuseboxException(Problem.UNSUPPORTED, dir,
                    "already exists and is not an empty directory; a sample is written to a new one");
        }
    }

    @FunctionalInterface
    private interface DirectoryWork {
        List<Path> write(Path temporary) throws FuseboxException, IOException;
    }

    /** Runs {@code work} in a temporary directory beside {@code target}, then moves it to {@code target}. */
    private static List<Path> writeDirectory(Path target, DirectoryWork work) throws FuseboxException {
        Path temporary = null;
        try {
            Files.createDirectories(target.getParent());
            // Not createTempDirectory: its owner-only permissions would stay with the finished sample.
            temporary = Files.createDirectory(target.resolveSibling("." + target.getFileName() + ".partial-"
                    + ProcessHandle.current().pid() + "-" + System.nanoTime()));
            List<Path> written = work.write(temporary);
            Files.deleteIfExists(target);
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
            Path moved = temporary;
            temporary = null;
            return written.stream().map(p -> target.resolve(moved.relativize(p))).toList();
        } catch (IOException | UncheckedIOException e) {
            IOException io = e instanceof UncheckedIOException u ? u.getCause() : (IOException) e;
            throw new FuseboxException(Problem.IO_ERROR, target, "could not be written (" + IoReason.of(io) + ")", e);
        } finally {
            if (temporary != null) {
                FileTrees.deleteQuietly(temporary);
            }
        }
    }
}
