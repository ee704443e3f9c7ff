package dev.fusebox.converter.convert;

import dev.fusebox.converter.safetensors.TensorSpec;

import java.util.ArrayList;
import java.util.List;

import static dev.fusebox.converter.TestCheckpoints.f32;

/**
 * One family's keys in both layouts, written out by hand from transformers' conversion_mapping.py (independently
 * of the rule files), for a model of 2 layers, 3 experts, hidden 8, expert width 6.
 *
 * @param fused for each fused tensor: its v5 key and, per expert, the legacy keys concatenated into it (in order)
 */
record FamilyCase(String modelType, List<TensorSpec> legacy, List<TensorSpec> v5, List<Fused> fused) {

    static final int LAYERS = 2;
    static final int EXPERTS = 3;
    static final int H = 8;
    static final int I = 6;

    record Fused(String v5Key, List<List<String>> perExpert) {
    }

    @Override
    public String toString() {
        return modelType;
    }

    /**
     * A family with the given renamed pairs (legacy key, v5 key, shape) added: per layer, or once when the key
     * starts with {@code model.}.
     */
    static FamilyCase of(String modelType, Pattern pattern, String[][] extraPerLayer) {
        List<TensorSpec> legacy = new ArrayList<>();
        List<TensorSpec> v5 = new ArrayList<>();
        List<Fused> fused = new ArrayList<>();
        for (List<TensorSpec> both : List.of(legacy, v5)) {
            both.add(f32("model.embed_tokens.weight", 32, H));
            both.add(f32("model.norm.weight", H));
            both.add(f32("lm_head.weight", 32, H));
        }
        for (int l = 0; l < LAYERS; l++) {
            String layer = "model.layers." + l + ".";
            for (List<TensorSpec> both : List.of(legacy, v5)) {
                both.add(f32(layer + "self_attn.q_proj.weight", H, H));
                both.add(f32(layer + "input_layernorm.weight", H));
            }
            pattern.add(layer, legacy, v5, fused);
            for (String[] e : extraPerLayer) {
                long[] dims = java.util.Arrays.stream(e[2].split(",")).mapToLong(Long::parseLong).toArray();
                boolean global = e[0].startsWith("model.");
                if (!global || l == 0) {
                    legacy.add(f32((global ? "" : layer) + e[0], dims));
                    v5.add(f32((global ? "" : layer) + e[1], dims));
                }
            }
        }
        return new FamilyCase(modelType, legacy, v5, fused);
    }

    /** How a family lays out its experts. */
    interface Pattern {
        void add(String layer, List<TensorSpec> legacy, List<TensorSpec> v5, List<Fused> fused);
    }

    /** Mixtral: block_sparse_moe.experts.e.w1/w3/w2 → mlp.experts.gate_up_proj / down_proj; gate → {@code router}. */
    static Pattern mixtral(String router) {
        return (layer, legacy, v5, fused) -> {
            legacy.add(f32(layer + "block_sparse_moe.gate.weight", EXPERTS, H));
            v5.add(f32(layer + "mlp." + router + ".weight", EXPERTS, H));
            List<List<String>> gateUp = new ArrayList<>();
            List<List<String>> down = new ArrayList<>();
            for (int e = 0; e < EXPERTS; e++) {
                String p = layer + "block_sparse_moe.experts." + e + ".";
                legacy.add(f32(p + "w1.weight", I, H));
                legacy.add(f32(p + "w2.weight", H, I));
                legacy.add(f32(p + "w3.weight", I, H));
                gateUp.add(List.of(p + "w1.weight", p + "w3.weight"));
                down.add(List.of(p + "w2.weight"));
            }
            v5.add(f32(layer + "mlp.experts.gate_up_proj", EXPERTS, 2 * I, H));
            v5.add(f32(layer + "mlp.experts.down_proj", EXPERTS, H, I));
            fused.add(new Fused(layer + "mlp.experts.gate_up_proj", gateUp));
            fused.add(new Fused(layer + "mlp.experts.down_proj", down));
        };
    }

    /** The qwen2_moe pattern under {@code block} (mlp, or feed_forward for jamba), with its router and shared expert. */
    static Pattern qwen(String block) {
        return qwen(block, true);
    }

    /** The qwen2_moe pattern; {@code plain} adds the router and a shared expert that keep their keys. */
    static Pattern qwen(String block, boolean plain) {
        return (layer, legacy, v5, fused) -> {
            for (List<TensorSpec> both : plain ? List.of(legacy, v5) : List.<List<TensorSpec>>of()) {
                both.add(f32(layer + block + ".gate.weight", EXPERTS, H));
                both.add(f32(layer + block + ".shared_expert.gate_proj.weight", I, H));
            }
            List<List<String>> gateUp = new ArrayList<>();
            List<List<String>> down = new ArrayList<>();
            for (int e = 0; e < EXPERTS; e++) {
                String p = layer + block + ".experts." + e + ".";
                legacy.add(f32(p + "gate_proj.weight", I, H));
                legacy.add(f32(p + "up_proj.weight", I, H));
                legacy.add(f32(p + "down_proj.weight", H, I));
                gateUp.add(List.of(p + "gate_proj.weight", p + "up_proj.weight"));
                down.add(List.of(p + "down_proj.weight"));
            }
            v5.add(f32(layer + block + ".experts.gate_up_proj", EXPERTS, 2 * I, H));
            v5.add(f32(layer + block + ".experts.down_proj", EXPERTS, H, I));
            fused.add(new Fused(layer + block + ".experts.gate_up_proj", gateUp));
            fused.add(new Fused(layer + block + ".experts.down_proj", down));
        };
    }

    /** Experts already stacked in both layouts (granitemoe, hy_v4): nothing but renamings. */
    static Pattern stacked() {
        return (layer, legacy, v5, fused) -> {
        };
    }
}
