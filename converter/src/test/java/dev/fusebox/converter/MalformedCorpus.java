package dev.fusebox.converter;

import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.safetensors.MalformedSafetensorsTest;
import dev.fusebox.converter.safetensors.SafetensorsFile;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.params.provider.Arguments;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * Every kind of malformed input Fusebox must refuse, written to disk: broken safetensors files, model directories
 * with a broken config.json or shard index, adapter directories with a broken adapter_config.json or tensors that
 * do not pair up, and hostile torch.save files. Each case names the problem and words its message must carry.
 */
public final class MalformedCorpus {

    /** One malformed input: what to open, and how it must be refused. */
    public record Case(String name, Path path, Problem problem, String words) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final String BASE = "legacy-base";
    private static final String ADAPTER = "legacy-lora-attn_experts";
    private static final String LORA = "base_model.model.model.layers.0.self_attn.q_proj.lora_";

    private final Path root;
    private final List<Case> cases = new ArrayList<>();
    private int counter;

    private MalformedCorpus(Path root) {
        this.root = root;
    }

    /** Writes the whole corpus under {@code root}. */
    public static List<Case> write(Path root) {
        MalformedCorpus c = new MalformedCorpus(root);
        try {
            Files.createDirectories(root);
            c.safetensors();
            c.configs();
            c.adapterConfigs();
            c.indexes();
            c.adapterTensors();
            c.torchFiles();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return List.copyOf(c.cases);
    }

    private void safetensors() throws IOException {
        for (Arguments a : MalformedSafetensorsTest.corpus().toList()) {
            Object[] args = a.get();
            Path f = root.resolve("st-" + counter++ + ".safetensors");
            Files.write(f, (byte[]) args[1]);
            cases.add(new Case("safetensors: " + args[0], f, (Problem) args[2], (String) args[3]));
        }
    }

    private void configs() throws IOException {
        config("not JSON", "{\"model_type\": ", Problem.INVALID_CONFIG, "not valid JSON");
        config("a JSON array", "[1, 2]", Problem.INVALID_CONFIG, "not a JSON object");
        config("an empty file", "", Problem.INVALID_CONFIG, "not a JSON object");
        config("a string for hidden_size", "{\"hidden_size\": \"big\"}", Problem.INVALID_CONFIG,
                "hidden_size is \"big\", expected an integer");
        config("a negative layer count", "{\"num_hidden_layers\": -2}", Problem.INVALID_CONFIG,
                "num_hidden_layers is -2, expected a positive integer");
        config("zero experts", "{\"num_local_experts\": 0}", Problem.INVALID_CONFIG, "num_local_experts is 0");
        config("a fractional head count", "{\"num_attention_heads\": 2.5}", Problem.INVALID_CONFIG,
                "num_attention_heads is 2.5");
        config("an overflowing vocabulary", "{\"vocab_size\": 99999999999999999999}", Problem.INVALID_CONFIG,
                "vocab_size");
        config("an unknown dtype", "{\"torch_dtype\": \"float33\"}", Problem.INVALID_CONFIG, "'float33'");
        config("architectures that are not strings", "{\"architectures\": [3]}", Problem.INVALID_CONFIG,
                "architectures holds 3");
        config("a key given twice", "{\"hidden_size\": 64, \"hidden_size\": 64}", Problem.INVALID_CONFIG,
                "not valid JSON (Duplicate field 'hidden_size')");
        Path dir = modelDir("config: invalid UTF-8");
        Files.write(dir.resolve("config.json"), new byte[] {'{', '"', (byte) 0xFF, '"', ':', '1', '}'});
        cases.add(new Case("config: invalid UTF-8", dir, Problem.INVALID_CONFIG, "not valid UTF-8"));
    }

    private void config(String name, String json, Problem problem, String words) throws IOException {
        Path dir = modelDir(name);
        Files.writeString(dir.resolve("config.json"), json);
        cases.add(new Case("config: " + name, dir, problem, words));
    }

    private void adapterConfigs() throws IOException {
        adapterConfig("r = 0", c -> c.replace("\"r\": 4", "\"r\": 0"), "r is 0, but a LoRA rank must be at least 1");
        adapterConfig("a negative r", c -> c.replace("\"r\": 4", "\"r\": -4"), "r is -4");
        adapterConfig("r as a string", c -> c.replace("\"r\": 4", "\"r\": \"four\""), "r is \"four\"");
        adapterConfig("lora_alpha as a string", c -> c.replace("\"lora_alpha\": 8", "\"lora_alpha\": \"8\""),
                "lora_alpha is \"8\", expected a number");
        adapterConfig("target_modules as a number", c -> c.replace("\"target_modules\": [", "\"target_modules\": 5, \"x\": ["),
                "target_modules is 5");
        adapterConfig("a rank_pattern of 0", c -> c.replace("\"rank_pattern\": {}", "\"rank_pattern\": {\"q_proj\": 0}"),
                "rank_pattern gives 'q_proj' the rank 0");
        adapterConfig("an alpha_pattern string", c -> c.replace("\"alpha_pattern\": {}",
                "\"alpha_pattern\": {\"q_proj\": \"x\"}"), "alpha_pattern gives 'q_proj'");
        adapterConfig("a negative layer", c -> c.replace("\"layers_to_transform\": null",
                "\"layers_to_transform\": [-1]"), "layers_to_transform holds -1");
        adapterConfig("use_rslora as a string", c -> c.replace("\"use_rslora\": false", "\"use_rslora\": \"yes\""),
                "use_rslora is \"yes\", expected true or false");
        adapterConfig("not JSON", c -> c.substring(0, c.length() / 2), "not valid JSON");
        adapterConfig("a JSON array", c -> "[" + c + "]", "not a JSON object");
        Path dir = adapterDir("adapter config: invalid UTF-8");
        Files.write(dir.resolve("adapter_config.json"), new byte[] {'{', '"', 'r', '"', ':', (byte) 0xE2, (byte) 0x28, '}'});
        cases.add(new Case("adapter config: invalid UTF-8", dir, Problem.INVALID_CONFIG, "not valid UTF-8"));
    }

    private void adapterConfig(String name, UnaryOperator<String> edit, String words) throws IOException {
        Path dir = adapterDir(name);
        Path config = dir.resolve("adapter_config.json");
        String original = Files.readString(config);
        String edited = edit.apply(original);
        if (edited.equals(original)) {
            throw new IllegalStateException("the edit for '" + name + "' changed nothing");
        }
        Files.writeString(config, edited);
        cases.add(new Case("adapter config: " + name, dir, Problem.INVALID_CONFIG, words));
    }

    private void indexes() throws IOException {
        index("a shard name with ../", m -> "../outside.safetensors", Problem.SHARD_OUTSIDE_CHECKPOINT,
                "leaves the checkpoint directory");
        index("an absolute shard path", m -> "/etc/passwd", Problem.SHARD_OUTSIDE_CHECKPOINT, "absolute");
        index("a backslash climbing out", m -> "..\\outside.safetensors", Problem.SHARD_OUTSIDE_CHECKPOINT,
                "leaves the checkpoint directory");
        index("a missing shard", m -> "model-00009.safetensors", Problem.MISSING_SHARD, "does not exist");
        index("an empty shard name", m -> "", Problem.INVALID_INDEX, "empty or invalid shard");
        index("a shard that is a directory", m -> "sub", Problem.NOT_A_REGULAR_FILE, "is a directory");
        indexText("not JSON", "{\"weight_map\": {", Problem.INVALID_INDEX, "not valid JSON");
        indexText("a JSON array", "[]", Problem.INVALID_INDEX, "not a JSON object");
        indexText("no weight_map", "{\"metadata\": {}}", Problem.INVALID_INDEX, "no weight_map");
        indexText("a weight_map that is a list", "{\"weight_map\": []}", Problem.INVALID_INDEX, "not an object");
        indexText("a shard name that is a number", "{\"weight_map\": {\"lm_head.weight\": 3}}", Problem.INVALID_INDEX,
                "expected a shard file name");
        indexText("a shard name that is a long list", "{\"weight_map\": {\"lm_head.weight\": ["
                + "1,".repeat(100_000) + "1]}}", Problem.INVALID_INDEX, "its weight_map entry is a list, expected");
        indexText("a key given twice", "{\"weight_map\": {\"lm_head.weight\": \"model.safetensors\", "
                + "\"lm_head.weight\": \"model.safetensors\"}}", Problem.INVALID_INDEX,
                "not valid JSON (Duplicate field 'lm_head.weight')");
        indexText("a weight_map given twice", "{\"weight_map\": {}, \"weight_map\": {}}", Problem.INVALID_INDEX,
                "not valid JSON (Duplicate field 'weight_map')");
        indexText("a metadata key given twice", "{\"metadata\": {\"total_size\": 1, \"total_size\": 1}, "
                + "\"weight_map\": {}}", Problem.INVALID_INDEX, "not valid JSON (Duplicate field 'total_size')");
        indexText("a metadata key given twice after the weight_map", "{\"weight_map\": {}, \"metadata\": "
                + "{\"total_size\": 1, \"total_size\": 1}}", Problem.INVALID_INDEX,
                "not valid JSON (Duplicate field 'total_size')");
        indexText("a tensor the shard does not hold",
                "{\"weight_map\": {\"no.such.tensor\": \"model.safetensors\"}}", Problem.INDEX_MISMATCH,
                "tensor 'no.such.tensor'");
        Path bad = modelDir("index: invalid UTF-8");
        Files.write(bad.resolve("model.safetensors.index.json"), new byte[] {'{', '"', (byte) 0xC0, '"', ':', '1', '}'});
        cases.add(new Case("index: invalid UTF-8", bad, Problem.INVALID_INDEX, "not valid UTF-8"));
        Path dir = modelDir("index: a symlink leading out");
        Path outside = root.resolve("outside-" + counter++ + ".safetensors");
        Files.move(dir.resolve("model.safetensors"), outside);
        Files.createSymbolicLink(dir.resolve("model.safetensors"), outside);
        writeIndex(dir, m -> "model.safetensors");
        cases.add(new Case("index: a symlink leading out", dir, Problem.LINK_OUTSIDE_CHECKPOINT,
                "outside the checkpoint folder"));
    }

    private void index(String name, UnaryOperator<String> shard, Problem problem, String words) throws IOException {
        Path dir = modelDir("index: " + name);
        Files.createDirectory(dir.resolve("sub"));
        Files.copy(dir.resolve("model.safetensors"), dir.getParent().resolve("outside.safetensors"),
                StandardCopyOption.REPLACE_EXISTING);
        writeIndex(dir, shard);
        cases.add(new Case("index: " + name, dir, problem, words));
    }

    private void indexText(String name, String json, Problem problem, String words) throws IOException {
        Path dir = modelDir("index: " + name);
        Files.writeString(dir.resolve("model.safetensors.index.json"), json);
        cases.add(new Case("index: " + name, dir, problem, words));
    }

    /** An index of the base's tensors, the first one placed in the shard {@code shard} makes of its real name. */
    private static void writeIndex(Path dir, UnaryOperator<String> shard) throws IOException {
        StringBuilder json = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            String sep = "";
            for (TensorEntry t : f.tensors()) {
                String name = sep.isEmpty() ? shard.apply("model.safetensors") : "model.safetensors";
                json.append(sep).append('"').append(t.key()).append("\": \"")
                        .append(name.replace("\\", "\\\\")).append('"');
                sep = ", ";
            }
        } catch (FuseboxException e) {
            throw new IllegalStateException(e);
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), json.append("}}"));
    }

    private void adapterTensors() throws IOException {
        adapterWeights("a lora_A without its lora_B", t -> t.remove(LORA + "B.weight"),
                "tensor '" + LORA + "A.weight': it has no partner '" + LORA + "B.weight'");
        adapterWeights("a lora_B without its lora_A", t -> t.remove(LORA + "A.weight"),
                "tensor '" + LORA + "B.weight': it has no partner '" + LORA + "A.weight'");
        adapterWeights("ranks that disagree", t -> t.put(LORA + "B.weight", Shape.of(64, 3)),
                "its rank 4 (shape [4, 64]) differs from its B's 3");
        adapterWeights("a rank of 0", t -> {
            t.put(LORA + "A.weight", Shape.of(0, 64));
            t.put(LORA + "B.weight", Shape.of(64, 0));
        }, "its rank is 0");
    }

    /** An adapter directory whose weights are the fixture's shapes, edited; the values are zeros. */
    private void adapterWeights(String name, Consumer<Map<String, Shape>> edit, String words)
            throws IOException {
        Path dir = adapterDir(name);
        Map<String, Shape> shapes = new LinkedHashMap<>();
        List<TensorEntry> original;
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            original = f.tensors();
        } catch (FuseboxException e) {
            throw new IllegalStateException(e);
        }
        original.forEach(t -> shapes.put(t.key(), t.shape()));
        edit.accept(shapes);
        List<TensorSpec> specs = shapes.entrySet().stream()
                .map(e -> new TensorSpec(e.getKey(), Dtype.F32, e.getValue())).toList();
        try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve("adapter_model.safetensors"), Map.of(), specs)) {
            for (TensorSpec s : specs) {
                w.write(ByteBuffer.allocate((int) s.byteSize()));
            }
            w.commit();
        }
        cases.add(new Case("adapter weights: " + name, dir, Problem.INVALID_ADAPTER, words));
    }

    private void torchFiles() throws IOException {
        for (String[] c : new String[][] {{"os-system.bin", "REFUSED_PICKLE", "posix.system"},
                {"builtins-eval.bin", "REFUSED_PICKLE", "__builtin__.eval"},
                {"transposed.bin", "UNSUPPORTED", "non-contiguous"},
                {"deflated.bin", "INVALID_ARCHIVE", "compressed"}}) {
            Path dir = adapterDir("bin: " + c[0]);
            Files.delete(dir.resolve("adapter_model.safetensors"));
            Files.copy(torchResource(c[0]), dir.resolve("adapter_model.bin"));
            cases.add(new Case("adapter_model.bin: " + c[0], dir, Problem.valueOf(c[1]), c[2]));
        }
    }

    static Path torchResource(String name) {
        try {
            return Path.of(MalformedCorpus.class.getResource("/dev/fusebox/converter/torchzip/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private Path modelDir(String name) throws IOException {
        return copy(BASE, name);
    }

    private Path adapterDir(String name) throws IOException {
        return copy(ADAPTER, name);
    }

    private Path copy(String fixture, String name) throws IOException {
        Path dir = Files.createDirectories(root.resolve(counter++ + "-" + name.replaceAll("[^A-Za-z0-9]+", "-")));
        try (var files = Files.list(Fixtures.tiny(fixture))) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName().toString()));
            }
        }
        return dir;
    }
}
