import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.convert.ConversionRequest;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.converter.convert.PlannedConversion;
import dev.fusebox.converter.tree.ModuleNode;
import dev.fusebox.converter.tree.ModuleTreeBuilder;
import dev.fusebox.converter.tree.TorchRepr;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreesViewModel;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.viewmodel.workspace.Analysis;
import dev.fusebox.viewmodel.host.Dialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.RecentFiles;
import dev.fusebox.viewmodel.workspace.Workspace;
import dev.fusebox.viewmodel.mapping.MappingViewModel;
import dev.fusebox.viewmodel.task.SynchronousTaskRunner;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Opening a checkpoint of 100 160 tensors (docs/design.md §4: "opens and shows its trees in under a second"), phase by
 * phase, as the desktop app and {@code inspect} do it.
 *
 * <pre>
 *   gen DIR           writes a legacy Mixtral of 64 layers x 520 experts (w1, w2, w3 of 4x4 bf16 each) in 16
 *                     shards with model.safetensors.index.json; self-contained, so it does not lean on the code
 *                     it measures
 *   gen-fp8 DIR       writes a checkpoint shaped as deepseek-ai/DeepSeek-V3 is on the Hub: the same 91 991 keys,
 *                     shapes and dtypes (fine-grained FP8 weights with their weight_scale_inv, the MTP layer 61)
 *                     in 163 shards, each file its real length but sparse (headers only on disk)
 *   passes DIR N      N passes in this JVM, each: open, plan, both module trees, the legacy tree's repr (what
 *                     inspect prints), then the desktop app's own work on open: Analysis.of (plans and tree rows
 *                     of both sides again) and installing it in the tree and mapping view models. One line of
 *                     milliseconds per pass.
 *   memory DIR N      N rounds through the app's own view model (MainViewModel, work run synchronously): open DIR,
 *                     close it; the heap in use after a full GC before the first open, with it open, and after
 *                     each close, in MiB
 * </pre>
 *
 * The first pass in a fresh JVM is what a user waits for on first open; later passes show the steady state.
 */
public class OpenLarge {

    static final int LAYERS = 64;
    static final int EXPERTS = 520;
    static final int SHARDS = 16;

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: OpenLarge gen DIR | OpenLarge gen-fp8 DIR | OpenLarge passes DIR N"
                    + " | OpenLarge memory DIR N");
            System.exit(2);
        }
        Path dir = Path.of(args[1]);
        switch (args[0]) {
            case "gen" -> generate(dir);
            case "gen-fp8" -> generateDeepSeekFp8(dir);
            case "memory" -> memory(dir, Integer.parseInt(args[2]));
            case "passes" -> {
                int n = Integer.parseInt(args[2]);
                System.out.println(String.join(" ", Phase.NAMES));
                for (int i = 0; i < n; i++) {
                    if (i > 0) {
                        System.gc();
                    }
                    System.out.println(pass(dir));
                }
            }
            default -> {
                System.err.println("unknown mode " + args[0]);
                System.exit(2);
            }
        }
    }

    /** Milliseconds of each phase, in {@link Phase#NAMES} order, then the converter's total and the app's. */
    static String pass(Path dir) throws Exception {
        Phase phase = new Phase();
        try (Checkpoint c = Checkpoint.open(dir)) {
            phase.end();
            PlannedConversion planned = Conversions.plan(c, ConversionRequest.DEFAULT);
            phase.end();
            ModuleNode legacy = ModuleTreeBuilder.build(c.specs(), c.modelType(), c.modelConfig(), Layout.LEGACY)
                    .root();
            phase.end();
            ModuleNode v5 = ModuleTreeBuilder.build(planned.plan().targetSpecs(), c.modelType(), c.modelConfig(),
                    Layout.V5).root();
            phase.end();
            String repr = TorchRepr.print(legacy);
            phase.end();
            if (v5.children().isEmpty() || repr.isEmpty()) {
                throw new IllegalStateException("empty tree");
            }
            Analysis a = Analysis.of(new Workspace(c, null));
            phase.end();
            TreesViewModel trees = new TreesViewModel();
            trees.show(a.tree(Side.LEGACY).orElse(null), a.caption(Side.LEGACY), a.tree(Side.V5).orElse(null),
                    a.caption(Side.V5), a.links());
            MappingViewModel mapping = new MappingViewModel(key -> { });
            mapping.show(a.mapping(), a.messages());
            phase.end();
        }
        return phase.line();
    }

    /** Opens and closes {@code dir} {@code rounds} times as the app does, printing the heap in use around each. */
    static void memory(Path dir, int rounds) throws IOException {
        Path recent = Files.createTempFile("openlarge-recent", ".json");
        Dialogs none = new Dialogs() {
            public Optional<Path> chooseCheckpointFile() { return Optional.empty(); }
            public Optional<Path> chooseCheckpointFolder() { return Optional.empty(); }
            public Optional<Path> chooseCheckpoint(String title) { return Optional.empty(); }
            public Optional<Path> chooseOutputFolder(String title, Path suggestion) { return Optional.empty(); }
        };
        MainViewModel vm = new MainViewModel(new SynchronousTaskRunner(), none, RecentFiles.load(recent), List::of,
                RuleBook::bundled);
        System.out.printf("before   %6.0f MiB  %s%n", usedMiB(), rss());
        for (int i = 0; i < rounds; i++) {
            long t = System.nanoTime();
            vm.open(List.of(dir));
            if (vm.getWorkspace() == null) {
                throw new IllegalStateException("not opened: " + vm.noticeProperty().get());
            }
            double ms = (System.nanoTime() - t) / 1e6;
            System.out.printf("open %2d  %6.0f MiB  %s  (%.0f ms to both trees' rows)%n", i + 1, usedMiB(), rss(),
                    ms);
            vm.close();
            System.out.printf("close %2d %6.0f MiB  %s%n", i + 1, usedMiB(), rss());
        }
        Files.deleteIfExists(recent);
    }

    /** The heap committed and the process's resident memory (Linux), after the collection above. */
    static String rss() throws IOException {
        Path status = Path.of("/proc/self/status");
        String resident = !Files.exists(status) ? "?" : Files.readAllLines(status).stream()
                .filter(l -> l.startsWith("VmRSS:")).map(l -> l.substring(6).trim()).findFirst().orElse("?");
        return String.format("(heap committed %.0f MiB, resident %s)", Runtime.getRuntime().totalMemory() / 1048576.0,
                resident);
    }

    /** The heap in use after a full collection. */
    static double usedMiB() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        Runtime r = Runtime.getRuntime();
        return (r.totalMemory() - r.freeMemory()) / 1048576.0;
    }

    /** Wall-clock phases of one pass. */
    static final class Phase {
        static final List<String> NAMES = List.of("open", "plan", "legacy_tree", "v5_tree", "repr", "analysis",
                "install", "converter", "app");
        private final long start = System.nanoTime();
        private long last = start;
        private final List<Double> ms = new ArrayList<>();

        void end() {
            long now = System.nanoTime();
            ms.add((now - last) / 1e6);
            last = now;
        }

        /** open + plan + both trees is the converter's part; open + analysis + install is what the app does. */
        String line() {
            double converter = ms.get(0) + ms.get(1) + ms.get(2) + ms.get(3);
            double app = ms.get(0) + ms.get(5) + ms.get(6);
            List<String> out = new ArrayList<>();
            ms.forEach(m -> out.add(String.format("%.0f", m)));
            out.add(String.format("%.0f", converter));
            out.add(String.format("%.0f", app));
            return String.join(" ", out);
        }
    }

    // ----- the checkpoint, written without Fusebox's classes -----

    static void generate(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> keys = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l + ".";
            for (String n : List.of("q_proj", "k_proj", "v_proj", "o_proj")) {
                keys.add(p + "self_attn." + n + ".weight");
            }
            keys.add(p + "block_sparse_moe.gate.weight");
            for (int e = 0; e < EXPERTS; e++) {
                for (String w : List.of("w1", "w2", "w3")) {
                    keys.add(p + "block_sparse_moe.experts." + e + "." + w + ".weight");
                }
            }
        }
        int per = (keys.size() + SHARDS - 1) / SHARDS;
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int s = 0; s < SHARDS; s++) {
            List<String> part = keys.subList(s * per, Math.min(keys.size(), (s + 1) * per));
            String name = String.format("model-%05d-of-%05d.safetensors", s + 1, SHARDS);
            writeShard(dir.resolve(name), part);
            part.forEach(k -> weightMap.put(k, name));
        }
        StringBuilder index = new StringBuilder("{\n  \"metadata\": {\"total_size\": ")
                .append(32L * keys.size()).append("},\n  \"weight_map\": {");
        String sep = "\n";
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            index.append(sep).append("    \"").append(e.getKey()).append("\": \"").append(e.getValue()).append('"');
            sep = ",\n";
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("\n  }\n}\n"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"mixtral\", \"architectures\": "
                + "[\"MixtralForCausalLM\"], \"num_hidden_layers\": " + LAYERS + ", \"num_local_experts\": " + EXPERTS
                + ", \"hidden_size\": 4, \"intermediate_size\": 4, \"rms_norm_eps\": 1e-05}\n");
        System.out.println(keys.size() + " tensors in " + SHARDS + " shards under " + dir);
    }

    /** A safetensors file of 4x4 bf16 tensors, zeros, in the given order. */
    static void writeShard(Path file, List<String> keys) throws IOException {
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        for (String k : keys) {
            h.append(",\"").append(k).append("\":{\"dtype\":\"BF16\",\"shape\":[4,4],\"data_offsets\":[")
                    .append(offset).append(',').append(offset + 32).append("]}");
            offset += 32;
        }
        h.append('}');
        while (h.length() % 8 != 0) {
            h.append(' ');
        }
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            ch.write(prefix);
            ch.write(ByteBuffer.wrap(header));
            byte[] zeros = new byte[(int) offset];
            Arrays.fill(zeros, (byte) 0);
            ch.write(ByteBuffer.wrap(zeros));
        }
    }

    // ----- DeepSeek-V3 (FP8) as published: config.json's figures, keys as in its index -----

    static final int DS_LAYERS = 61, DS_DENSE = 3, DS_EXPERTS = 256, DS_SHARDS = 163;
    static final long HIDDEN = 7168, DENSE_INTER = 18432, MOE_INTER = 2048, Q_RANK = 1536, KV_RANK = 512,
            HEADS = 128, NOPE = 128, ROPE = 64, V_HEAD = 128, VOCAB = 129280, BLOCK = 128;

    record Spec(String key, String dtype, long... shape) {
        long bytes() {
            long n = dtype.equals("F8_E4M3") ? 1 : dtype.equals("F32") ? 4 : 2;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    /** An FP8 linear: its weight and its per-128x128-block inverse scales. */
    static void fp8(List<Spec> out, String prefix, long rows, long cols) {
        out.add(new Spec(prefix + ".weight", "F8_E4M3", rows, cols));
        out.add(new Spec(prefix + ".weight_scale_inv", "F32", (rows + BLOCK - 1) / BLOCK, (cols + BLOCK - 1) / BLOCK));
    }

    static void layer(List<Spec> out, int l) {
        String p = "model.layers." + l + ".";
        out.add(new Spec(p + "input_layernorm.weight", "BF16", HIDDEN));
        out.add(new Spec(p + "post_attention_layernorm.weight", "BF16", HIDDEN));
        fp8(out, p + "self_attn.q_a_proj", Q_RANK, HIDDEN);
        out.add(new Spec(p + "self_attn.q_a_layernorm.weight", "BF16", Q_RANK));
        fp8(out, p + "self_attn.q_b_proj", HEADS * (NOPE + ROPE), Q_RANK);
        fp8(out, p + "self_attn.kv_a_proj_with_mqa", KV_RANK + ROPE, HIDDEN);
        out.add(new Spec(p + "self_attn.kv_a_layernorm.weight", "BF16", KV_RANK));
        fp8(out, p + "self_attn.kv_b_proj", HEADS * (NOPE + V_HEAD), KV_RANK);
        fp8(out, p + "self_attn.o_proj", HIDDEN, HEADS * V_HEAD);
        if (l < DS_DENSE) {
            fp8(out, p + "mlp.gate_proj", DENSE_INTER, HIDDEN);
            fp8(out, p + "mlp.up_proj", DENSE_INTER, HIDDEN);
            fp8(out, p + "mlp.down_proj", HIDDEN, DENSE_INTER);
            return;
        }
        out.add(new Spec(p + "mlp.gate.weight", "BF16", DS_EXPERTS, HIDDEN));
        out.add(new Spec(p + "mlp.gate.e_score_correction_bias", "F32", DS_EXPERTS));
        for (int e = 0; e < DS_EXPERTS; e++) {
            fp8(out, p + "mlp.experts." + e + ".gate_proj", MOE_INTER, HIDDEN);
            fp8(out, p + "mlp.experts." + e + ".up_proj", MOE_INTER, HIDDEN);
            fp8(out, p + "mlp.experts." + e + ".down_proj", HIDDEN, MOE_INTER);
        }
        fp8(out, p + "mlp.shared_experts.gate_proj", MOE_INTER, HIDDEN);
        fp8(out, p + "mlp.shared_experts.up_proj", MOE_INTER, HIDDEN);
        fp8(out, p + "mlp.shared_experts.down_proj", HIDDEN, MOE_INTER);
    }

    static void generateDeepSeekFp8(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Spec> specs = new ArrayList<>();
        specs.add(new Spec("model.embed_tokens.weight", "BF16", VOCAB, HIDDEN));
        for (int l = 0; l < DS_LAYERS; l++) {
            layer(specs, l);
        }
        // The multi-token-prediction layer, which transformers skips on loading.
        layer(specs, DS_LAYERS);
        String mtp = "model.layers." + DS_LAYERS + ".";
        specs.add(new Spec(mtp + "embed_tokens.weight", "BF16", VOCAB, HIDDEN));
        specs.add(new Spec(mtp + "enorm.weight", "BF16", HIDDEN));
        specs.add(new Spec(mtp + "hnorm.weight", "BF16", HIDDEN));
        specs.add(new Spec(mtp + "eh_proj.weight", "BF16", HIDDEN, 2 * HIDDEN));
        specs.add(new Spec(mtp + "shared_head.norm.weight", "BF16", HIDDEN));
        specs.add(new Spec(mtp + "shared_head.head.weight", "BF16", VOCAB, HIDDEN));
        specs.add(new Spec("model.norm.weight", "BF16", HIDDEN));
        specs.add(new Spec("lm_head.weight", "BF16", VOCAB, HIDDEN));
        int per = (specs.size() + DS_SHARDS - 1) / DS_SHARDS;
        Map<String, String> weightMap = new LinkedHashMap<>();
        long total = 0;
        for (int s = 0; s < DS_SHARDS; s++) {
            List<Spec> part = specs.subList(Math.min(specs.size(), s * per), Math.min(specs.size(), (s + 1) * per));
            String name = String.format("model-%05d-of-%05d.safetensors", s + 1, DS_SHARDS);
            total += writeSparseShard(dir.resolve(name), part);
            part.forEach(t -> weightMap.put(t.key(), name));
        }
        StringBuilder index = new StringBuilder("{\n  \"metadata\": {\"total_size\": ").append(total)
                .append("},\n  \"weight_map\": {");
        String sep = "\n";
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            index.append(sep).append("    \"").append(e.getKey()).append("\": \"").append(e.getValue()).append('"');
            sep = ",\n";
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("\n  }\n}\n"));
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "hidden_size": 7168,
                 "intermediate_size": 18432, "moe_intermediate_size": 2048, "num_hidden_layers": 61,
                 "num_nextn_predict_layers": 1, "first_k_dense_replace": 3, "moe_layer_freq": 1,
                 "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8, "n_group": 8,
                 "topk_group": 4, "topk_method": "noaux_tc", "norm_topk_prob": true, "routed_scaling_factor": 2.5,
                 "scoring_func": "sigmoid", "num_attention_heads": 128, "num_key_value_heads": 128,
                 "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
                 "v_head_dim": 128, "vocab_size": 129280, "max_position_embeddings": 163840,
                 "rms_norm_eps": 1e-06, "rope_theta": 10000, "tie_word_embeddings": false,
                 "torch_dtype": "bfloat16",
                 "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                         "weight_block_size": [128, 128]}}
                """);
        System.out.println(specs.size() + " tensors in " + DS_SHARDS + " shards, " + total + " bytes (sparse) under "
                + dir);
    }

    /** A safetensors file of {@code specs} whose data is a hole: its real length, nothing but the header on disk. */
    static long writeSparseShard(Path file, List<Spec> specs) throws IOException {
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        for (Spec t : specs) {
            h.append(",\"").append(t.key()).append("\":{\"dtype\":\"").append(t.dtype()).append("\",\"shape\":[");
            for (int i = 0; i < t.shape().length; i++) {
                h.append(i == 0 ? "" : ",").append(t.shape()[i]);
            }
            long end = Math.addExact(offset, t.bytes());
            h.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
        }
        h.append('}');
        while (h.length() % 8 != 0) {
            h.append(' ');
        }
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length));
            ch.write(ByteBuffer.wrap(header));
            if (offset > 0) {
                ch.write(ByteBuffer.allocate(1), 8L + header.length + offset - 1);
            }
        }
        return offset;
    }
}
