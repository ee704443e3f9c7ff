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
import dev.fusebox.viewmodel.main.Analysis;
import dev.fusebox.viewmodel.main.Workspace;
import dev.fusebox.viewmodel.mapping.MappingViewModel;

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

/**
 * Opening a checkpoint of 100 160 tensors (DESIGN.md §5: "opens and shows its trees in under a second"), phase by
 * phase, as the desktop app and {@code inspect} do it.
 *
 * <pre>
 *   gen DIR           writes a legacy Mixtral of 64 layers x 520 experts (w1, w2, w3 of 4x4 bf16 each) in 16
 *                     shards with model.safetensors.index.json; self-contained, so it does not lean on the code
 *                     it measures
 *   passes DIR N      N passes in this JVM, each: open, plan, both module trees, the legacy tree's repr (what
 *                     inspect prints), then the desktop app's own work on open: Analysis.of (plans and tree rows
 *                     of both sides again) and installing it in the tree and mapping view models. One line of
 *                     milliseconds per pass.
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
            System.err.println("usage: OpenLarge gen DIR | OpenLarge passes DIR N");
            System.exit(2);
        }
        Path dir = Path.of(args[1]);
        switch (args[0]) {
            case "gen" -> generate(dir);
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
            mapping.show(a.modelPlan(), a.adapterPlan(), a.messages());
            phase.end();
        }
        return phase.line();
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
}
