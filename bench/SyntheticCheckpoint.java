import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a synthetic legacy (transformers 4.x) Mixtral checkpoint of about the size asked for, for benchmarks:
 * the seed shape (hidden 1024, intermediate 3584, 8 experts, 32 heads / 8 KV heads, vocab 32000) in bfloat16,
 * as many layers as the size allows, sharded at 2 GiB with model.safetensors.index.json, random bytes.
 * Self-contained (no Fusebox classes), so the benchmark measures Fusebox only on the conversion.
 *
 * Usage: java bench/SyntheticCheckpoint.java OUT_DIR SIZE_GIB
 */
public class SyntheticCheckpoint {

    static final long HIDDEN = 1024, INTER = 3584, EXPERTS = 8, HEADS = 32, KV_HEADS = 8, VOCAB = 32000;
    static final long SHARD = 2L << 30;

    record Tensor(String key, long[] shape) {
        long bytes() {
            long n = 2;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: java SyntheticCheckpoint.java OUT_DIR SIZE_GIB");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        double gib = Double.parseDouble(args[1]);
        long headDim = HIDDEN / HEADS;
        List<Tensor> fixed = List.of(new Tensor("model.embed_tokens.weight", new long[] {VOCAB, HIDDEN}),
                new Tensor("model.norm.weight", new long[] {HIDDEN}), new Tensor("lm_head.weight", new long[] {VOCAB, HIDDEN}));
        long fixedBytes = fixed.stream().mapToLong(Tensor::bytes).sum();
        List<Tensor> layer0 = layer(0, headDim);
        long layerBytes = layer0.stream().mapToLong(Tensor::bytes).sum();
        int layers = (int) Math.max(1, Math.round((gib * (1L << 30) - fixedBytes) / layerBytes));
        List<Tensor> all = new ArrayList<>(List.of(fixed.get(0)));
        for (int l = 0; l < layers; l++) {
            all.addAll(layer(l, headDim));
        }
        all.add(fixed.get(1));
        all.add(fixed.get(2));

        List<List<Tensor>> shards = new ArrayList<>();
        List<Tensor> current = new ArrayList<>();
        long size = 0;
        for (Tensor t : all) {
            if (!current.isEmpty() && size + t.bytes() > SHARD) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += t.bytes();
        }
        shards.add(current);

        Files.createDirectories(out);
        byte[] block = new byte[64 << 20];
        new SplittableRandom(42).nextBytes(block);
        Map<String, String> weightMap = new LinkedHashMap<>();
        long total = 0;
        for (int s = 0; s < shards.size(); s++) {
            String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            total += writeShard(out.resolve(name), shards.get(s), block, s);
            for (Tensor t : shards.get(s)) {
                weightMap.put(t.key(), name);
            }
        }
        StringBuilder index = new StringBuilder("{\n  \"metadata\": {\"total_size\": " + total + "},\n  \"weight_map\": {\n");
        int i = 0;
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            index.append("    \"").append(e.getKey()).append("\": \"").append(e.getValue()).append('"')
                    .append(++i < weightMap.size() ? ",\n" : "\n");
        }
        index.append("  }\n}\n");
        Files.writeString(out.resolve("model.safetensors.index.json"), index);
        Files.writeString(out.resolve("config.json"), """
                {"architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "hidden_size": %d,
                 "intermediate_size": %d, "num_local_experts": %d, "num_experts_per_tok": 2,
                 "num_hidden_layers": %d, "num_attention_heads": %d, "num_key_value_heads": %d, "vocab_size": %d,
                 "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "torch_dtype": "bfloat16"}
                """.formatted(HIDDEN, INTER, EXPERTS, layers, HEADS, KV_HEADS, VOCAB));
        System.out.printf("%s: %d layers, %d tensors, %d bytes in %d shards%n", out, layers, all.size(), total,
                shards.size());
    }

    static List<Tensor> layer(int l, long headDim) {
        String p = "model.layers." + l + ".";
        List<Tensor> out = new ArrayList<>();
        out.add(new Tensor(p + "input_layernorm.weight", new long[] {HIDDEN}));
        out.add(new Tensor(p + "self_attn.q_proj.weight", new long[] {HEADS * headDim, HIDDEN}));
        out.add(new Tensor(p + "self_attn.k_proj.weight", new long[] {KV_HEADS * headDim, HIDDEN}));
        out.add(new Tensor(p + "self_attn.v_proj.weight", new long[] {KV_HEADS * headDim, HIDDEN}));
        out.add(new Tensor(p + "self_attn.o_proj.weight", new long[] {HIDDEN, HEADS * headDim}));
        out.add(new Tensor(p + "post_attention_layernorm.weight", new long[] {HIDDEN}));
        out.add(new Tensor(p + "block_sparse_moe.gate.weight", new long[] {EXPERTS, HIDDEN}));
        for (int e = 0; e < EXPERTS; e++) {
            String x = p + "block_sparse_moe.experts." + e + ".";
            out.add(new Tensor(x + "w1.weight", new long[] {INTER, HIDDEN}));
            out.add(new Tensor(x + "w2.weight", new long[] {HIDDEN, INTER}));
            out.add(new Tensor(x + "w3.weight", new long[] {INTER, HIDDEN}));
        }
        return out;
    }

    static long writeShard(Path file, List<Tensor> tensors, byte[] block, int seed) throws IOException {
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        for (Tensor t : tensors) {
            StringBuilder shape = new StringBuilder();
            for (long d : t.shape()) {
                shape.append(shape.isEmpty() ? "" : ",").append(d);
            }
            h.append(",\"").append(t.key()).append("\":{\"dtype\":\"BF16\",\"shape\":[").append(shape)
                    .append("],\"data_offsets\":[").append(offset).append(',').append(offset + t.bytes()).append("]}");
            offset += t.bytes();
        }
        h.append('}');
        while ((8 + h.length()) % 8 != 0) {
            h.append(' ');
        }
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length));
            ch.write(ByteBuffer.wrap(header));
            long left = offset;
            int rotate = seed * 4099;
            while (left > 0) {
                int start = Math.floorMod(rotate, block.length / 2);
                int n = (int) Math.min(left, block.length / 2);
                ByteBuffer b = ByteBuffer.wrap(block, start, n);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                left -= n;
                rotate += 1_048_583;
            }
        }
        return offset;
    }
}
