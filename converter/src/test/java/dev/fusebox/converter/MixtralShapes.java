package dev.fusebox.converter;

import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.List;

/** The keys and shapes a Mixtral config implies, written out from docs/design.md §1 for tests to compare against. */
public record MixtralShapes(int hidden, int intermediate, int experts, int layers, int heads, int kvHeads, int vocab) {

    public static final MixtralShapes TINY = new MixtralShapes(64, 96, 4, 2, 4, 2, 256);
    public static final MixtralShapes SEED = new MixtralShapes(1024, 3584, 8, 2, 32, 8, 32000);

    public List<TensorSpec> legacy(Dtype dtype) {
        List<TensorSpec> out = common(dtype);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".block_sparse_moe.";
            out.add(new TensorSpec(p + "gate.weight", dtype, Shape.of(experts, hidden)));
            for (int e = 0; e < experts; e++) {
                out.add(new TensorSpec(p + "experts." + e + ".w1.weight", dtype, Shape.of(intermediate, hidden)));
                out.add(new TensorSpec(p + "experts." + e + ".w2.weight", dtype, Shape.of(hidden, intermediate)));
                out.add(new TensorSpec(p + "experts." + e + ".w3.weight", dtype, Shape.of(intermediate, hidden)));
            }
        }
        return out;
    }

    public List<TensorSpec> v5(Dtype dtype) {
        List<TensorSpec> out = common(dtype);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".mlp.";
            out.add(new TensorSpec(p + "gate.weight", dtype, Shape.of(experts, hidden)));
            out.add(new TensorSpec(p + "experts.gate_up_proj", dtype, Shape.of(experts, 2L * intermediate, hidden)));
            out.add(new TensorSpec(p + "experts.down_proj", dtype, Shape.of(experts, hidden, intermediate)));
        }
        return out;
    }

    private List<TensorSpec> common(Dtype dtype) {
        int headDim = hidden / heads;
        List<TensorSpec> out = new ArrayList<>();
        out.add(new TensorSpec("model.embed_tokens.weight", dtype, Shape.of(vocab, hidden)));
        out.add(new TensorSpec("lm_head.weight", dtype, Shape.of(vocab, hidden)));
        out.add(new TensorSpec("model.norm.weight", dtype, Shape.of(hidden)));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            out.add(new TensorSpec(p + "self_attn.q_proj.weight", dtype, Shape.of((long) heads * headDim, hidden)));
            out.add(new TensorSpec(p + "self_attn.k_proj.weight", dtype, Shape.of((long) kvHeads * headDim, hidden)));
            out.add(new TensorSpec(p + "self_attn.v_proj.weight", dtype, Shape.of((long) kvHeads * headDim, hidden)));
            out.add(new TensorSpec(p + "self_attn.o_proj.weight", dtype, Shape.of(hidden, (long) heads * headDim)));
            out.add(new TensorSpec(p + "input_layernorm.weight", dtype, Shape.of(hidden)));
            out.add(new TensorSpec(p + "post_attention_layernorm.weight", dtype, Shape.of(hidden)));
        }
        return out;
    }
}
