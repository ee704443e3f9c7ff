package dev.fusebox.converter.convert;

import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.List;

import static dev.fusebox.converter.TestCheckpoints.f32;

/**
 * One family's keys in both layouts, written out by hand from transformers' conversion_mapping.py (independently
 * of the rule files), for a model of 2 layers, 3 experts, hidden 8, expert width 6. A "fused" tensor may also be
 * one made of plain tensors (kimi_linear's convolutions): one list of sources.
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

    /**
     * This family with every legacy key that starts with {@code from} starting with {@code to} instead (nemotron_h
     * stores its model under {@code backbone.}).
     */
    FamilyCase withLegacyPrefix(String from, String to) {
        java.util.function.UnaryOperator<String> moved = k -> k.startsWith(from) ? to + k.substring(from.length()) : k;
        List<TensorSpec> movedLegacy = legacy.stream()
                .map(t -> new TensorSpec(moved.apply(t.key()), t.dtype(), t.shape())).toList();
        List<Fused> movedFused = fused.stream().map(f -> new Fused(f.v5Key(), f.perExpert().stream()
                .map(keys -> keys.stream().map(moved).toList()).toList())).toList();
        return new FamilyCase(modelType, movedLegacy, v5, movedFused);
    }

    /** How a family lays out its experts. */
    interface Pattern {
        void add(String layer, List<TensorSpec> legacy, List<TensorSpec> v5, List<Fused> fused);

        /** This pattern and then {@code next}, in the same layer. */
        default Pattern and(Pattern next) {
            return (layer, legacy, v5, fused) -> {
                add(layer, legacy, v5, fused);
                next.add(layer, legacy, v5, fused);
            };
        }
    }

    /**
     * Per-expert {@code gate}, {@code up} and {@code down} projections under {@code block} (the same in both layouts)
     * → {@code block.experts.gate_up_proj} / {@code down_proj}, with no router (lfm2_moe: w1, w3, w2).
     */
    static Pattern perExpert(String block, String gate, String up, String down) {
        return (layer, legacy, v5, fused) -> {
            List<List<String>> gateUp = new ArrayList<>();
            List<List<String>> downs = new ArrayList<>();
            for (int e = 0; e < EXPERTS; e++) {
                String p = layer + block + ".experts." + e + ".";
                legacy.add(f32(p + gate + ".weight", I, H));
                legacy.add(f32(p + up + ".weight", I, H));
                legacy.add(f32(p + down + ".weight", H, I));
                gateUp.add(List.of(p + gate + ".weight", p + up + ".weight"));
                downs.add(List.of(p + down + ".weight"));
            }
            v5.add(f32(layer + block + ".experts.gate_up_proj", EXPERTS, 2 * I, H));
            v5.add(f32(layer + block + ".experts.down_proj", EXPERTS, H, I));
            fused.add(new Fused(layer + block + ".experts.gate_up_proj", gateUp));
            fused.add(new Fused(layer + block + ".experts.down_proj", downs));
        };
    }

    /** Experts without a gate (nemotron_h): per-expert up_proj and down_proj stack into experts.up_proj / down_proj. */
    static Pattern ungated(String block) {
        return (layer, legacy, v5, fused) -> {
            for (String[] proj : new String[][] {{"up_proj", I + "," + H}, {"down_proj", H + "," + I}}) {
                long[] dims = java.util.Arrays.stream(proj[1].split(",")).mapToLong(Long::parseLong).toArray();
                List<List<String>> perExpert = new ArrayList<>();
                for (int e = 0; e < EXPERTS; e++) {
                    String key = layer + block + ".experts." + e + "." + proj[0] + ".weight";
                    legacy.add(f32(key, dims));
                    perExpert.add(List.of(key));
                }
                v5.add(f32(layer + block + ".experts." + proj[0], EXPERTS, dims[0], dims[1]));
                fused.add(new Fused(layer + block + ".experts." + proj[0], perExpert));
            }
        };
    }

    /** kimi_linear's q, k and v short convolutions, concatenated along dim 0 into self_attn.conv1d. */
    static Pattern shortConvolutions() {
        return (layer, legacy, v5, fused) -> {
            List<String> qkv = new ArrayList<>();
            for (String c : List.of("q", "k", "v")) {
                String key = layer + "self_attn." + c + "_conv1d.weight";
                legacy.add(f32(key, H, 1, 4));
                qkv.add(key);
            }
            v5.add(f32(layer + "self_attn.conv1d.weight", 3 * H, 1, 4));
            fused.add(new Fused(layer + "self_attn.conv1d.weight", List.of(qkv)));
        };
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
