package dev.fusebox.converter.forward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.ModelConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Set;

/**
 * What the forward pass needs to know of a Mixtral, Qwen2-MoE, Qwen3-MoE or OLMoE: its sizes and constants, with
 * transformers' config defaults for what config.json leaves out. {@code intermediate} is the experts' width,
 * {@code denseIntermediate} the dense MLP's (of the layers in {@code denseLayers}), {@code sharedIntermediate} the
 * shared expert's (0: none). {@code biased} names the attention projections with a bias; {@code qkNorm} says how
 * queries and keys are RMS-normalised; {@code clipQkv}, when above 0, is OLMoE's clamp of queries, keys and values
 * to ±clipQkv; {@code normTopK} renormalises the top-k routing weights.
 * {@code slidingWindow} is 0 when attention is not windowed.
 */
public record ModelDims(String modelType, int hidden, int intermediate, int experts, int topK, int layers,
                          int heads, int kvHeads, int headDim, int vocab, double rmsNormEps, double ropeTheta,
                          int slidingWindow, boolean tieWordEmbeddings, QkNorm qkNorm, double clipQkv, boolean normTopK,
                          List<String> biased, int sharedIntermediate, int denseIntermediate,
                          List<Integer> denseLayers) {

    /** The model types whose forward pass this is. */
    public static final Set<String> MODEL_TYPES = Set.of("mixtral", "qwen2_moe", "qwen3_moe", "olmoe");

    /** The families of {@link #MODEL_TYPES}, in words. */
    public static final String FAMILIES = "Mixtral, Qwen2-MoE, Qwen3-MoE and OLMoE";

    /** Reads and checks a config; a model the pass does not implement is {@link Problem#UNSUPPORTED}. */
    public static ModelDims of(ModelConfig config) throws FuseboxException {
        String type = config.modelType().orElse(null);
        if (!MODEL_TYPES.contains(type)) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "is a "
                    + (type == null ? "config without a model_type" : "'" + type + "' model")
                    + ", and the sample forward pass implements " + FAMILIES + " only");
        }
        boolean mixtral = type.equals("mixtral");
        boolean olmoe = type.equals("olmoe");
        ObjectNode raw = config.raw();
        if (!mixtral && bool(raw, "use_sliding_window", false)) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(),
                    "uses sliding-window attention on some layers, and the forward pass implements it for Mixtral only");
        }
        String act = text(raw, "hidden_act");
        if (act != null && !act.equals("silu")) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(),
                    "uses the activation '" + act + "', and the forward pass implements silu only");
        }
        String rope = ropeType(raw);
        if (rope != null && !rope.equals("default")) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(),
                    "uses '" + rope + "' RoPE scaling, and the forward pass implements plain RoPE only");
        }
        int hidden = or(config.hiddenSize(), mixtral ? 4096 : 2048);
        int heads = or(config.numAttentionHeads(), mixtral ? 32 : type.equals("qwen3_moe") ? 32 : 16);
        JsonNode window = raw.get("sliding_window");
        int slidingWindow = mixtral && window != null && window.isIntegralNumber() && window.intValue() > 0
                ? window.intValue() : 0;
        int layers = or(config.numHiddenLayers(), mixtral ? 32 : 24);
        List<String> biased = type.equals("qwen2_moe") ? (bool(raw, "qkv_bias", true)
                ? List.of("q_proj", "k_proj", "v_proj") : List.of())
                : !mixtral && bool(raw, "attention_bias", false)
                ? List.of("q_proj", "k_proj", "v_proj", "o_proj") : List.of();
        ModelDims d = new ModelDims(type, hidden,
                or(config.expertIntermediateSize(), mixtral ? 14336 : olmoe ? 2048
                        : type.equals("qwen2_moe") ? 1408 : 768),
                or(config.numExperts(), mixtral ? 8 : olmoe ? 64 : type.equals("qwen2_moe") ? 60 : 128),
                or(config.numExpertsPerTok(), mixtral ? 2 : type.equals("qwen2_moe") ? 4 : 8), layers, heads,
                or(config.numKeyValueHeads(), mixtral ? 8 : type.equals("qwen3_moe") ? 4 : heads),
                or(config.headDim(), hidden / heads),
                or(config.vocabSize(), mixtral ? 32000 : olmoe ? 50304 : 151936),
                or(config.rmsNormEps(), mixtral || olmoe ? 1e-5 : 1e-6), or(config.ropeTheta(), mixtral ? 1e6 : 10000),
                slidingWindow, config.tieWordEmbeddings().orElse(false),
                type.equals("qwen3_moe") ? QkNorm.PER_HEAD : olmoe ? QkNorm.WHOLE : QkNorm.NONE,
                olmoe ? positiveNumber(raw, "clip_qkv") : 0, mixtral || bool(raw, "norm_topk_prob", false), biased,
                type.equals("qwen2_moe") ? positive(raw, "shared_expert_intermediate_size", 5632) : 0,
                or(config.intermediateSize(), mixtral ? 14336 : type.equals("qwen2_moe") ? 5632 : 6144),
                mixtral || olmoe ? List.of() : denseLayers(raw, layers));
        if (d.heads % d.kvHeads != 0 || d.topK > d.experts || d.headDim % 2 != 0
                || (olmoe && d.qWidth() != d.hidden)) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives " + d.heads
                    + " attention heads, " + d.kvHeads + " key/value heads, head size " + d.headDim + ", "
                    + d.topK + " of " + d.experts + " experts per token, which do not fit together");
        }
        return d;
    }

    /** Whether {@code layer} has a dense MLP in place of the experts. */
    public boolean dense(int layer) {
        return denseLayers.contains(layer);
    }

    /**
     * Qwen's dense layers: those in mlp_only_layers, and all but every decoder_sparse_step-th, as its decoder layer
     * decides.
     */
    private static List<Integer> denseLayers(ObjectNode raw, int layers) {
        int step = positive(raw, "decoder_sparse_step", 1);
        List<Integer> only = new ArrayList<>();
        JsonNode n = raw.get("mlp_only_layers");
        if (n != null && n.isArray()) {
            n.forEach(v -> only.add(v.isIntegralNumber() ? v.intValue() : -1));
        }
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            if (only.contains(l) || (l + 1) % step != 0) {
                out.add(l);
            }
        }
        return List.copyOf(out);
    }

    private static boolean bool(JsonNode node, String field, boolean fallback) {
        JsonNode v = node.get(field);
        return v != null && v.isBoolean() ? v.booleanValue() : fallback;
    }

    /** A number field above 0, or 0 when it is absent, null or not above 0. */
    private static double positiveNumber(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v != null && v.isNumber() && v.doubleValue() > 0 ? v.doubleValue() : 0;
    }

    private static int positive(JsonNode node, String field, int fallback) {
        JsonNode v = node.get(field);
        return v != null && v.isIntegralNumber() && v.intValue() > 0 ? v.intValue() : fallback;
    }

    /** Width of the query projection's output. */
    public int qWidth() {
        return heads * headDim;
    }

    /** Width of the key and value projections' outputs. */
    public int kvWidth() {
        return kvHeads * headDim;
    }

    private static String ropeType(ObjectNode raw) {
        for (String field : new String[] {"rope_parameters", "rope_scaling"}) {
            JsonNode n = raw.get(field);
            if (n != null && n.isObject()) {
                String t = text(n, "rope_type");
                if (t == null) {
                    t = text(n, "type");
                }
                if (t != null) {
                    return t;
                }
            }
        }
        return null;
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v != null && v.isTextual() ? v.textValue() : null;
    }

    private static int or(OptionalInt v, int fallback) {
        return v.isPresent() ? v.getAsInt() : fallback;
    }

    private static double or(OptionalDouble v, double fallback) {
        return v.isPresent() ? v.getAsDouble() : fallback;
    }
}
