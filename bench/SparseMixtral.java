import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a legacy (transformers 4.x) checkpoint of Mixtral-8x7B's shape — hidden 4096, intermediate 14336, 8
 * experts (top 2), 32 layers, 32 heads / 8 KV heads, vocab 32000, bfloat16, 87 GiB — as sparse files: real
 * safetensors headers, one shard per layer plus one for the embeddings and lm_head, model.safetensors.index.json
 * and config.json, and data that is all holes (zeros), so it takes a few MB of disk. For benchmarks that read
 * parts of a model this size (verify --layers 1). With {@code v5} it writes the same model in the v5 (transformers
 * 5) layout instead: each layer's experts fused into mlp.experts.gate_up_proj [8, 2·14336, 4096] and down_proj
 * [8, 4096, 14336], the router as mlp.gate; what a conversion of the legacy one holds (bench/diff-throughput.sh
 * compares the two). LAYERS (default 32) keeps the first that many layers, every tensor still of 8x7B's shape, for
 * a machine without the time or page cache for all of it. Self-contained (no Fusebox classes).
 *
 * Usage: java bench/SparseMixtral.java OUT_DIR [legacy|v5] [LAYERS]
 */
public class SparseMixtral {

    static final long HIDDEN = 4096, INTER = 14336, EXPERTS = 8, HEADS = 32, KV_HEADS = 8, VOCAB = 32000;
    static final int ALL_LAYERS = 32;

    record Tensor(String key, long[] shape) {
        long bytes() {
            long n = 2;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 3 || args.length >= 2 && !List.of("legacy", "v5").contains(args[1])
                || args.length == 3 && !args[2].matches("[1-9][0-9]?")) {
            System.err.println("usage: java SparseMixtral.java OUT_DIR [legacy|v5] [LAYERS]");
            System.exit(2);
        }
        boolean v5 = args.length >= 2 && args[1].equals("v5");
        int layers = args.length == 3 ? Math.min(ALL_LAYERS, Integer.parseInt(args[2])) : ALL_LAYERS;
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        List<List<Tensor>> shards = new ArrayList<>();
        shards.add(List.of(new Tensor("lm_head.weight", new long[] {VOCAB, HIDDEN}),
                new Tensor("model.embed_tokens.weight", new long[] {VOCAB, HIDDEN}),
                new Tensor("model.norm.weight", new long[] {HIDDEN})));
        long headDim = HIDDEN / HEADS;
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            List<Tensor> t = new ArrayList<>();
            if (v5) {
                t.add(new Tensor(p + "mlp.gate.weight", new long[] {EXPERTS, HIDDEN}));
                t.add(new Tensor(p + "mlp.experts.gate_up_proj", new long[] {EXPERTS, 2 * INTER, HIDDEN}));
                t.add(new Tensor(p + "mlp.experts.down_proj", new long[] {EXPERTS, HIDDEN, INTER}));
            } else {
                t.add(new Tensor(p + "block_sparse_moe.gate.weight", new long[] {EXPERTS, HIDDEN}));
                for (int e = 0; e < EXPERTS; e++) {
                    String x = p + "block_sparse_moe.experts." + e + ".";
                    t.add(new Tensor(x + "w1.weight", new long[] {INTER, HIDDEN}));
                    t.add(new Tensor(x + "w2.weight", new long[] {HIDDEN, INTER}));
                    t.add(new Tensor(x + "w3.weight", new long[] {INTER, HIDDEN}));
                }
            }
            t.add(new Tensor(p + "input_layernorm.weight", new long[] {HIDDEN}));
            t.add(new Tensor(p + "post_attention_layernorm.weight", new long[] {HIDDEN}));
            t.add(new Tensor(p + "self_attn.k_proj.weight", new long[] {KV_HEADS * headDim, HIDDEN}));
            t.add(new Tensor(p + "self_attn.o_proj.weight", new long[] {HIDDEN, HEADS * headDim}));
            t.add(new Tensor(p + "self_attn.q_proj.weight", new long[] {HEADS * headDim, HIDDEN}));
            t.add(new Tensor(p + "self_attn.v_proj.weight", new long[] {KV_HEADS * headDim, HIDDEN}));
            shards.add(t);
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        long total = 0;
        for (int s = 0; s < shards.size(); s++) {
            String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            total += writeShard(out.resolve(name), shards.get(s));
            for (Tensor t : shards.get(s)) {
                weightMap.put(t.key(), name);
            }
        }
        StringBuilder index = new StringBuilder("{\"metadata\": {\"total_size\": " + total + "}, \"weight_map\": {");
        boolean first = true;
        for (var e : weightMap.entrySet()) {
            index.append(first ? "" : ", ").append('"').append(e.getKey()).append("\": \"").append(e.getValue())
                    .append('"');
            first = false;
        }
        Files.writeString(out.resolve("model.safetensors.index.json"), index.append("}}\n"));
        Files.writeString(out.resolve("config.json"), """
                {"architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "hidden_size": %d,
                 "intermediate_size": %d, "num_local_experts": %d, "num_experts_per_tok": 2,
                 "num_hidden_layers": %d, "num_attention_heads": %d, "num_key_value_heads": %d,
                 "vocab_size": %d, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "hidden_act": "silu",
                 "tie_word_embeddings": false, "torch_dtype": "bfloat16"}
                """.formatted(HIDDEN, INTER, EXPERTS, layers, HEADS, KV_HEADS, VOCAB));
        System.out.printf("wrote %s: %d tensors, %.1f GiB of data in %d sparse shards%n", out, weightMap.size(),
                total / (double) (1L << 30), shards.size());
    }

    /** A safetensors file with a real header and holes for data; returns the data's bytes. */
    static long writeShard(Path file, List<Tensor> tensors) throws IOException {
        StringBuilder json = new StringBuilder("{\"__metadata__\": {\"format\": \"pt\"}");
        long offset = 0;
        for (Tensor t : tensors) {
            StringBuilder shape = new StringBuilder();
            for (long d : t.shape()) {
                shape.append(shape.isEmpty() ? "" : ", ").append(d);
            }
            json.append(", \"").append(t.key()).append("\": {\"dtype\": \"BF16\", \"shape\": [").append(shape)
                    .append("], \"data_offsets\": [").append(offset).append(", ").append(offset + t.bytes())
                    .append("]}");
            offset += t.bytes();
        }
        json.append('}');
        while ((json.length() + 8) % 8 != 0) {
            json.append(' ');
        }
        byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(0);
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
            f.write(len.array());
            f.write(header);
            f.setLength(8 + header.length + offset);
        }
        return offset;
    }
}
