package dev.fusebox.converter.forward;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.ModelConfig;

import java.util.Set;

/**
 * The sizes of DeepSeek's multi-head latent attention (modeling_deepseek_v3's DeepseekV3Attention, which
 * glm4_moe_lite's is a copy of; DeepSeek-V2's, DeepSeek-V3.2's and GLM-MoE-DSA's always rotate interleaved RoPE pairs):
 * queries through the low-rank pair q_a_proj, q_a_layernorm, q_b_proj ({@code qLoraRank} above 0) or one q_proj; keys
 * and values from one latent of {@code kvLoraRank} (kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj) plus a key part of
 * {@code qkRopeHeadDim} shared by the heads; each query/key head is {@code qkNopeHeadDim} dimensions without position
 * and {@code qkRopeHeadDim} with RoPE, each value head {@code vHeadDim}. {@code interleave}: RoPE rotates the pairs
 * (0, 1), (2, 3)... rather than the two halves. {@code attentionBias}: q_a_proj, kv_a_proj_with_mqa and o_proj have biases.
 * {@code scale} is the softmax scale. {@code indexTopK}, above 0, is DeepSeek-V3.2's and GLM-MoE-DSA's index_topk: its
 * indexer keeps that many keys per query, so up to that many tokens it keeps them all and the attention is the plain
 * latent one (0: no indexer).
 */
public record LatentAttentionDims(int hidden, int heads, int qLoraRank, int kvLoraRank, int qkNopeHeadDim,
                                  int qkRopeHeadDim, int vHeadDim, boolean interleave, boolean attentionBias,
                                  Rope rope, double scale, int indexTopK) {

    /** The model types whose attention this is. */
    public static final Set<String> MODEL_TYPES = Set.of("deepseek_v2", "deepseek_v3", "deepseek_v32", "glm4_moe_lite",
            "glm_moe_dsa");

    /** transformers builds the latent norms with RMSNorm's default epsilon, not the config's rms_norm_eps. */
    public static final double LATENT_NORM_EPS = 1e-6;

    /** Reads and checks the attention of a {@link #MODEL_TYPES} config, with transformers' defaults. */
    public static LatentAttentionDims of(ModelConfig config) throws FuseboxException {
        String type = config.modelType().orElse("");
        boolean glm = type.equals("glm4_moe_lite");
        boolean dsa = type.equals("glm_moe_dsa");
        boolean v2 = type.equals("deepseek_v2");
        boolean v32 = type.equals("deepseek_v32");
        JsonNode raw = config.raw();
        int hidden = config.hiddenSize().orElse(glm ? 2048 : dsa ? 6144 : v2 ? 4096 : 7168);
        int heads = config.numAttentionHeads().orElse(glm ? 20 : dsa ? 64 : v2 ? 32 : 128);
        int kvHeads = config.numKeyValueHeads().orElse(heads);
        if (kvHeads != heads) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives " + kvHeads
                    + " key/value heads for " + heads + " attention heads; latent attention expands its keys and "
                    + "values to every head, so transformers runs it only when the two are equal");
        }
        JsonNode q = raw.get("q_lora_rank");
        int qLoraRank = q == null ? (glm ? 768 : dsa ? 2048 : 1536)
                : q.isNull() ? 0 : positive(config, q, "q_lora_rank");
        if ((dsa || v32) && qLoraRank == 0) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives no q_lora_rank, and "
                    + type + "'s queries always go through q_a_proj and q_b_proj");
        }
        int nope = intField(config, "qk_nope_head_dim", glm || dsa ? 192 : 128);
        int ropeDim = intField(config, "qk_rope_head_dim", 64);
        if (glm && raw.has("head_dim")) {
            // GLM's config maps head_dim onto qk_rope_head_dim: one of them, or both the same
            int headDim = intField(config, "head_dim", ropeDim);
            if (raw.has("qk_rope_head_dim") && headDim != ropeDim) {
                throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives head_dim " + headDim
                        + " and qk_rope_head_dim " + ropeDim + ", which glm4_moe_lite reads as the same setting");
            }
            ropeDim = headDim;
        }
        if (ropeDim % 2 != 0) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives an odd qk_rope_head_dim ("
                    + ropeDim + "), and RoPE rotates pairs of dimensions");
        }
        // both make head_dim, the size of transformers' RoPE table, qk_rope_head_dim
        Rope rope = Rope.of(config, ropeDim);
        double scale = Math.pow(nope + ropeDim, -0.5) * rope.softmaxScale();
        return new LatentAttentionDims(hidden, heads, qLoraRank, intField(config, "kv_lora_rank", 512), nope,
                ropeDim, intField(config, "v_head_dim", glm || dsa ? 256 : 128),
                dsa || v2 || v32 || bool(raw, "rope_interleave", true), bool(raw, "attention_bias", false), rope,
                scale, dsa || v32 ? indexTopK(config, raw) : 0);
    }

    /**
     * DeepSeek-V3.2's and GLM-MoE-DSA's index_topk; GLM's first layer must run the indexer (transformers fails on
     * a "shared" one, which reuses a previous layer's choice).
     */
    private static int indexTopK(ModelConfig config, JsonNode raw) throws FuseboxException {
        JsonNode types = raw.get("indexer_types");
        JsonNode pattern = raw.get("index_topk_pattern");
        boolean firstShared = (types != null && types.isArray() && !types.isEmpty())
                ? !types.get(0).asText().equals("full")
                : pattern != null && (pattern.isTextual() ? !pattern.textValue().startsWith("F")
                : pattern.isArray() && !pattern.isEmpty() && !pattern.get(0).asText().equals("full"));
        if (firstShared) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "has a first layer that reuses the "
                    + "indexer of a layer before it, which transformers cannot run");
        }
        return intField(config, "index_topk", 2048);
    }

    /** Dimensions of one query or key head. */
    public int qkHeadDim() {
        return qkNopeHeadDim + qkRopeHeadDim;
    }

    /** Width of the queries, all heads: q_b_proj's (or q_proj's) output. */
    public int qWidth() {
        return heads * qkHeadDim();
    }

    /** Width of kv_a_proj_with_mqa's output: the latent, then the shared RoPE key. */
    public int compressedWidth() {
        return kvLoraRank + qkRopeHeadDim;
    }

    /** Width of kv_b_proj's output: per head, its position-free key, then its value. */
    public int kvWidth() {
        return heads * (qkNopeHeadDim + vHeadDim);
    }

    /** Width of the attention's output, o_proj's input. */
    public int outWidth() {
        return heads * vHeadDim;
    }

    private static int intField(ModelConfig config, String field, int fallback) throws FuseboxException {
        JsonNode v = config.raw().get(field);
        return v == null || v.isNull() ? fallback : positive(config, v, field);
    }

    private static int positive(ModelConfig config, JsonNode v, String field) throws FuseboxException {
        if (!v.isIntegralNumber() || v.intValue() < 1) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(),
                    "gives " + field + " as " + v + ", and it must be a positive whole number");
        }
        return v.intValue();
    }

    private static boolean bool(JsonNode node, String field, boolean fallback) {
        JsonNode v = node.get(field);
        return (v != null && v.isBoolean()) ? v.booleanValue() : fallback;
    }
}
