package dev.fusebox.converter.forward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.ModelConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Set;

/**
 * What the forward pass needs to know of a model of one of {@link #MODEL_TYPES}: its sizes and constants, with the
 * defaults of transformers 5.18's config class for what config.json leaves out. {@code intermediate} is the
 * experts' width, {@code denseIntermediate} the dense MLP's (of the layers in {@code denseLayers}).
 * {@code rotaryDim} is how many of each head's channels RoPE turns (GLM-4-MoE's partial_rotary_factor,
 * MiniMax-M2's rotary_dim), {@code ropeInterleaved} whether it pairs neighbouring channels (ERNIE) instead of the
 * two halves. {@code biased} names the attention projections with a bias; {@code qkNorm} says how queries and keys
 * are RMS-normalised; {@code clipQkv}, when above 0, is OLMoE's clamp of queries, keys and values to ±clipQkv.
 * {@code slidingWindow} is 0 when attention is not windowed. {@code latentAttention} is DeepSeek's multi-head
 * latent attention, which takes the place of q/k/v_proj (its heads have {@code headDim} query/key dimensions,
 * {@code rotaryDim} of them with RoPE).
 */
public record ModelDims(String modelType, int hidden, int intermediate, int layers, int heads, int kvHeads,
                        int headDim, int rotaryDim, boolean ropeInterleaved, int vocab, double rmsNormEps,
                        double ropeTheta, int slidingWindow, boolean tieWordEmbeddings, QkNorm qkNorm, double clipQkv,
                        List<String> biased, Router router, CorrectionBias correctionBias,
                        Optional<SharedExpert> sharedExpert, int denseIntermediate, List<Integer> denseLayers,
                        Optional<LatentAttentionDims> latentAttention) {

    /** The model types whose forward pass this is. */
    public static final Set<String> MODEL_TYPES = Set.of("mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "glm4_moe",
            "dots1", "solar_open", "minimax_m2", "ernie4_5_moe", "hunyuan_v1_moe", "deepseek_v2", "deepseek_v3",
            "deepseek_v32", "glm4_moe_lite", "glm_moe_dsa");

    /** The families of {@link #MODEL_TYPES}, in words. */
    public static final String FAMILIES = "Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE, GLM-4-MoE, dots1, Solar-Open, "
            + "MiniMax-M2, ERNIE-4.5-MoE, HunYuan-MoE, DeepSeek-V2, DeepSeek-V3, DeepSeek-V3.2, GLM-4-MoE-Lite and "
            + "GLM-MoE-DSA";

    private static final List<String> QKV = List.of("q_proj", "k_proj", "v_proj");
    private static final List<String> QKVO = List.of("q_proj", "k_proj", "v_proj", "o_proj");

    /** Reads and checks a config; a model the pass does not implement is {@link Problem#UNSUPPORTED}. */
    public static ModelDims of(ModelConfig config) throws FuseboxException {
        String type = config.modelType().orElse(null);
        if (!MODEL_TYPES.contains(type)) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "is a "
                    + (type == null ? "config without a model_type" : "'" + type + "' model")
                    + ", and the sample forward pass implements " + FAMILIES + " only");
        }
        ObjectNode raw = config.raw();
        String act = text(raw, "hidden_act");
        if (act != null && !act.equals("silu")) {
            throw unsupported(config, "uses the activation '" + act + "', and the forward pass implements silu only");
        }
        String rope = ropeType(raw);
        if (rope != null && !rope.equals("default") && !LatentAttentionDims.MODEL_TYPES.contains(type)) {
            throw unsupported(config,
                    "uses '" + rope + "' RoPE scaling, and the forward pass implements plain RoPE only");
        }
        ModelDims d = switch (type) {
            case "mixtral", "qwen2_moe", "qwen3_moe", "olmoe" -> softmaxRouted(config, raw, type);
            case "glm4_moe", "dots1", "solar_open" -> groupRouted(config, raw, type);
            case "minimax_m2" -> minimax(config, raw);
            case "ernie4_5_moe" -> ernie(config, raw);
            case "hunyuan_v1_moe" -> hunyuan(config, raw);
            case "deepseek_v2", "deepseek_v3", "deepseek_v32", "glm4_moe_lite", "glm_moe_dsa" ->
                    latent(config, raw, type);
            default -> throw new IllegalStateException(type);
        };
        if (d.heads % d.kvHeads != 0 || d.topK() > d.experts()
                || (d.latentAttention.isEmpty() && (d.headDim % 2 != 0 || d.rotaryDim % 2 != 0))
                || d.rotaryDim < 2 || d.rotaryDim > d.headDim
                || (d.qkNorm == QkNorm.WHOLE && type.equals("olmoe") && d.qWidth() != d.hidden)) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives " + d.heads
                    + " attention heads, " + d.kvHeads + " key/value heads, head size " + d.headDim + " (RoPE on "
                    + d.rotaryDim + "), " + d.topK() + " of " + d.experts() + " experts per token, which do not fit"
                    + " together");
        }
        return d;
    }

    /** Mixtral, Qwen2-MoE, Qwen3-MoE and OLMoE: a softmax router. */
    private static ModelDims softmaxRouted(ModelConfig config, ObjectNode raw, String type) throws FuseboxException {
        boolean mixtral = type.equals("mixtral");
        boolean olmoe = type.equals("olmoe");
        boolean qwen2 = type.equals("qwen2_moe");
        if (!mixtral && bool(raw, "use_sliding_window", false)) {
            throw unsupported(config, "uses sliding-window attention on some layers, and the forward pass implements it "
                    + "for Mixtral only");
        }
        int hidden = or(config.hiddenSize(), mixtral ? 4096 : 2048);
        int heads = or(config.numAttentionHeads(), mixtral ? 32 : type.equals("qwen3_moe") ? 32 : 16);
        JsonNode window = raw.get("sliding_window");
        int slidingWindow = mixtral && window != null && window.isIntegralNumber() && window.intValue() > 0
                ? window.intValue() : 0;
        int layers = or(config.numHiddenLayers(), mixtral ? 32 : 24);
        List<String> biased = qwen2 ? (bool(raw, "qkv_bias", true) ? QKV : List.of())
                : !mixtral && bool(raw, "attention_bias", false) ? QKVO : List.of();
        int headDim = or(config.headDim(), hidden / heads);
        Router router = new SoftmaxRouter(
                or(config.numExperts(), mixtral ? 8 : olmoe ? 64 : qwen2 ? 60 : 128),
                or(config.numExpertsPerTok(), mixtral ? 2 : qwen2 ? 4 : 8),
                mixtral || bool(raw, "norm_topk_prob", false), 0);
        return new ModelDims(type, hidden,
                or(config.expertIntermediateSize(), mixtral ? 14336 : olmoe ? 2048 : qwen2 ? 1408 : 768),
                layers, heads, or(config.numKeyValueHeads(), mixtral ? 8 : type.equals("qwen3_moe") ? 4 : heads),
                headDim, headDim, false,
                or(config.vocabSize(), mixtral ? 32000 : olmoe ? 50304 : 151936),
                or(config.rmsNormEps(), mixtral || olmoe ? 1e-5 : 1e-6), or(config.ropeTheta(), mixtral ? 1e6 : 10000),
                slidingWindow, config.tieWordEmbeddings().orElse(false),
                type.equals("qwen3_moe") ? QkNorm.PER_HEAD : olmoe ? QkNorm.WHOLE : QkNorm.NONE,
                olmoe ? positiveNumber(raw, "clip_qkv") : 0, biased, router, CorrectionBias.NONE,
                qwen2 ? Optional.of(new SharedExpert("shared_expert",
                        positive(raw, "shared_expert_intermediate_size", 5632), true)) : Optional.empty(),
                or(config.intermediateSize(), mixtral ? 14336 : qwen2 ? 5632 : 6144),
                mixtral || olmoe ? List.of() : qwenDenseLayers(raw, layers), Optional.empty());
    }

    /**
     * GLM-4-MoE, dots1 and Solar-Open: the group-limited sigmoid router with its correction bias, shared experts,
     * the first first_k_dense_replace layers dense (Solar-Open has none); GLM's partial RoPE and optional q/k norms,
     * dots1's q/k norms.
     */
    private static ModelDims groupRouted(ModelConfig config, ObjectNode raw, String type) throws FuseboxException {
        boolean glm = type.equals("glm4_moe");
        boolean dots = type.equals("dots1");
        boolean solar = type.equals("solar_open");
        int hidden = or(config.hiddenSize(), glm || solar ? 4096 : 4608);
        int heads = or(config.numAttentionHeads(), glm ? 96 : solar ? 64 : 32);
        int layers = or(config.numHiddenLayers(), glm ? 46 : solar ? 48 : 62);
        if (dots) {
            checkFullAttention(config, raw, layers);
        }
        int headDim = or(config.headDim(), solar ? 128 : hidden / heads);
        int experts = dots ? required(config, config.numExperts(), "n_routed_experts") : or(config.numExperts(), 128);
        int topK = dots ? required(config, config.numExpertsPerTok(), "num_experts_per_tok")
                : or(config.numExpertsPerTok(), 8);
        int intermediate = count(config, raw, "moe_intermediate_size", solar ? 1280 : 1408, 1);
        int shared = dots ? required(config, count(config, raw, "n_shared_experts", -1, 0), "n_shared_experts")
                : count(config, raw, "n_shared_experts", 1, 0);
        int firstDense = solar ? 0 : Math.min(layers, count(config, raw, "first_k_dense_replace", glm ? 1 : 0, 0));
        List<Integer> dense = new ArrayList<>();
        for (int l = 0; l < firstDense; l++) {
            dense.add(l);
        }
        int rotaryDim = glm ? rotaryDim(config, raw, headDim, 0.5) : solar ? rotaryDim(config, raw, headDim, 1.0)
                : headDim;
        if (solar && rotaryDim != headDim) {
            throw unsupported(config, "turns " + rotaryDim + " of each head's " + headDim + " channels with RoPE, "
                    + "which Solar-Open's attention in transformers 5.18 does not implement (it turns them all)");
        }
        boolean bias = bool(raw, "attention_bias", false);
        return new ModelDims(type, hidden, intermediate, layers, heads,
                or(config.numKeyValueHeads(), dots ? heads : 8), headDim, rotaryDim, false,
                or(config.vocabSize(), glm ? 151552 : solar ? 196608 : 152064),
                or(config.rmsNormEps(), dots ? 1e-6 : 1e-5), or(config.ropeTheta(), solar ? 1e6 : 10000), 0,
                config.tieWordEmbeddings().orElse(false),
                dots || (glm && bool(raw, "use_qk_norm", false)) ? QkNorm.PER_HEAD : QkNorm.NONE, 0,
                bias ? (dots ? QKVO : QKV) : List.of(),
                sigmoidRouter(config, experts, topK, count(config, raw, "n_group", 1, 1),
                        count(config, raw, "topk_group", 1, 1), bool(raw, "norm_topk_prob", !dots),
                        number(config, raw, "routed_scaling_factor", 1.0)),
                CorrectionBias.ROUTER,
                shared > 0 ? Optional.of(new SharedExpert("shared_experts", Math.multiplyExact(intermediate, shared),
                        false)) : Optional.empty(),
                or(config.intermediateSize(), solar ? intermediate : 10944), List.copyOf(dense), Optional.empty());
    }

    /** MiniMax-M2: q/k norms over the whole projection, partial RoPE, a sigmoid router renormalised over the top-k. */
    private static ModelDims minimax(ModelConfig config, ObjectNode raw) throws FuseboxException {
        int hidden = or(config.hiddenSize(), 3072);
        int heads = or(config.numAttentionHeads(), 48);
        int headDim = or(config.headDim(), 128);
        int experts = or(config.numExperts(), 256);
        int intermediate = or(config.intermediateSize(), 1536);
        return new ModelDims("minimax_m2", hidden, intermediate, or(config.numHiddenLayers(), 62), heads,
                or(config.numKeyValueHeads(), 8), headDim, rotaryDim(config, raw, headDim, 1.0), false,
                or(config.vocabSize(), 200064), or(config.rmsNormEps(), 1e-6), or(config.ropeTheta(), 5e6), 0,
                config.tieWordEmbeddings().orElse(false), QkNorm.WHOLE, 0, List.of(),
                sigmoidRouter(config, experts, or(config.numExpertsPerTok(), 8), 1, 1, true, 1.0),
                CorrectionBias.MOE_BLOCK, Optional.empty(), intermediate, List.of(), Optional.empty());
    }

    /**
     * ERNIE-4.5-MoE: interleaved RoPE, a softmax router choosing on the probabilities plus moe_statics' bias,
     * shared experts, MoE layers from moe_layer_start_index to moe_layer_end_index every moe_layer_interval-th.
     */
    private static ModelDims ernie(ModelConfig config, ObjectNode raw) throws FuseboxException {
        if (bool(raw, "use_bias", false)) {
            throw unsupported(config, "has use_bias, and the forward pass implements ERNIE-4.5-MoE without the "
                    + "biases of its attention and MLPs only");
        }
        int hidden = or(config.hiddenSize(), 2560);
        int heads = or(config.numAttentionHeads(), 20);
        int layers = or(config.numHiddenLayers(), 28);
        int headDim = or(config.headDim(), hidden / heads);
        int experts = count(config, raw, "moe_num_experts", or(config.numExperts(), 64), 1);
        int topK = count(config, raw, "moe_k", or(config.numExpertsPerTok(), 6), 1);
        int intermediate = count(config, raw, "moe_intermediate_size", 1536, 1);
        int shared = count(config, raw, "moe_num_shared_experts", 2, 0);
        int start = count(config, raw, "moe_layer_start_index", 1, 0);
        JsonNode endNode = raw.get("moe_layer_end_index");
        int end = endNode == null || endNode.isNull() || (endNode.isIntegralNumber() && endNode.intValue() == -1)
                ? layers - 1 : count(config, raw, "moe_layer_end_index", layers - 1, 0);
        int interval = count(config, raw, "moe_layer_interval", 1, 1);
        List<Integer> dense = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            if (!((l + 1) % interval == 0 && l >= start && l <= end)) {
                dense.add(l);
            }
        }
        return new ModelDims("ernie4_5_moe", hidden, intermediate, layers, heads, or(config.numKeyValueHeads(), 4),
                headDim, headDim, true, or(config.vocabSize(), 103424), or(config.rmsNormEps(), 1e-5),
                or(config.ropeTheta(), 500000), 0, config.tieWordEmbeddings().orElse(true), QkNorm.NONE, 0,
                List.of(), new SoftmaxRouter(experts, topK, true, number(config, raw, "moe_norm_min", 1e-12)),
                CorrectionBias.MOE_STATICS,
                shared > 0 ? Optional.of(new SharedExpert("shared_experts", Math.multiplyExact(intermediate, shared),
                        false)) : Optional.empty(),
                or(config.intermediateSize(), 12288), List.copyOf(dense), Optional.empty());
    }

    /**
     * DeepSeek-V2, DeepSeek-V3, DeepSeek-V3.2, GLM-4-MoE-Lite and GLM-MoE-DSA: multi-head latent attention,
     * shared experts, the group-limited sigmoid router with its correction bias (DeepSeek-V2:
     * {@link GroupLimitedSoftmaxRouter}); DeepSeek's first first_k_dense_replace layers dense, those that
     * mlp_layer_types does not call sparse for the DSA families and GLM-4-MoE-Lite (by default their first
     * first_k_dense_replace, GLM-4-MoE-Lite's first).
     */
    private static ModelDims latent(ModelConfig config, ObjectNode raw, String type) throws FuseboxException {
        boolean lite = type.equals("glm4_moe_lite");
        boolean dsa = type.equals("glm_moe_dsa");
        boolean glm = lite || dsa;
        boolean v2 = type.equals("deepseek_v2");
        LatentAttentionDims a = LatentAttentionDims.of(config);
        int layers = or(config.numHiddenLayers(), lite ? 47 : dsa ? 78 : v2 ? 32 : 61);
        int intermediate = count(config, raw, "moe_intermediate_size", lite ? 1536 : v2 ? 1407 : 2048, 1);
        int shared = count(config, raw, "n_shared_experts", v2 ? 2 : 1, 0);
        int firstDense = Math.min(layers, lite ? 1 : count(config, raw, "first_k_dense_replace", v2 ? 0 : 3, 0));
        List<Integer> dense = new ArrayList<>();
        for (int l = 0; l < firstDense; l++) {
            dense.add(l);
        }
        if (glm || type.equals("deepseek_v32")) {
            dense = mlpLayerTypesDense(config, raw, layers, dense);
        }
        Router router = v2 ? deepseekV2Router(config, raw)
                : sigmoidRouter(config, or(config.numExperts(), lite ? 64 : 256),
                        or(config.numExpertsPerTok(), lite ? 4 : 8), count(config, raw, "n_group", glm ? 1 : 8, 1),
                        count(config, raw, "topk_group", glm ? 1 : 4, 1), bool(raw, "norm_topk_prob", true),
                        number(config, raw, "routed_scaling_factor", lite ? 1.8 : 2.5));
        return new ModelDims(type, a.hidden(), intermediate, layers, a.heads(), a.heads(), a.qkHeadDim(),
                a.qkRopeHeadDim(), a.interleave(), or(config.vocabSize(), glm ? 154880 : v2 ? 102400 : 129280),
                or(config.rmsNormEps(), glm ? 1e-5 : 1e-6), or(config.ropeTheta(), 10000), 0,
                config.tieWordEmbeddings().orElse(false), QkNorm.NONE, 0,
                a.attentionBias() ? List.of("q_a_proj", "kv_a_proj_with_mqa", "o_proj") : List.of(), router,
                v2 ? CorrectionBias.NONE : CorrectionBias.ROUTER,
                shared > 0 ? Optional.of(new SharedExpert("shared_experts", Math.multiplyExact(intermediate, shared),
                        false)) : Optional.empty(),
                or(config.intermediateSize(), lite ? 10240 : dsa ? 12288 : v2 ? 11008 : 18432), List.copyOf(dense),
                Optional.of(a));
    }

    /**
     * DeepSeek-V2's softmax router: topk_method greedy (the plain top-k) or group_limited_greedy (n_group,
     * topk_group); transformers computes no weights for any other method, and has no default top-k.
     */
    private static Router deepseekV2Router(ModelConfig config, ObjectNode raw) throws FuseboxException {
        if (bool(raw, "mlp_bias", false)) {
            throw unsupported(config, "has mlp_bias, and the forward pass implements DeepSeek-V2's MLPs without biases "
                    + "only");
        }
        String method = text(raw, "topk_method");
        boolean grouped = "group_limited_greedy".equals(method);
        if (method != null && !grouped && !method.equals("greedy")) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "names the topk_method '" + method
                    + "', for which transformers' DeepSeek-V2 router computes no weights (greedy and "
                    + "group_limited_greedy only)");
        }
        int experts = or(config.numExperts(), 64);
        int topK = required(config, config.numExpertsPerTok(), "num_experts_per_tok");
        int groups = grouped ? required(config, count(config, raw, "n_group", -1, 1), "n_group") : 1;
        int kept = grouped ? required(config, count(config, raw, "topk_group", -1, 1), "topk_group") : 1;
        try {
            return new GroupLimitedSoftmaxRouter(experts, topK, groups, kept,
                    number(config, raw, "routed_scaling_factor", 1.0));
        } catch (IllegalArgumentException e) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives " + e.getMessage());
        }
    }

    /** The dense layers mlp_layer_types names: each whose entry is not "sparse"; {@code fallback} without it. */
    private static List<Integer> mlpLayerTypesDense(ModelConfig config, ObjectNode raw, int layers,
                                                    List<Integer> fallback) throws FuseboxException {
        JsonNode types = raw.get("mlp_layer_types");
        List<Integer> dense = new ArrayList<>();
        if (types == null || types.isNull()) {
            return fallback;
        }
        if (!types.isArray() || types.size() < layers) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives mlp_layer_types " + types
                    + ", which does not name the MLP of each of its " + layers + " layers");
        }
        for (int l = 0; l < layers; l++) {
            if (!types.get(l).isTextual() || !types.get(l).textValue().equals("sparse")) {
                dense.add(l);
            }
        }
        return dense;
    }

    /**
     * dots1's layer_types, or, when the file leaves them out, what its config class derives: sliding-window
     * attention from layer max_window_layers on unless sliding_window is null. The pass implements full attention.
     */
    private static void checkFullAttention(ModelConfig config, ObjectNode raw, int layers) throws FuseboxException {
        JsonNode layerTypes = raw.get("layer_types");
        if (layerTypes != null && layerTypes.isArray()) {
            for (JsonNode t : layerTypes) {
                if (!t.isTextual() || !t.textValue().equals("full_attention")) {
                    throw unsupported(config, "has a layer of type " + t + ", and the forward pass implements "
                            + "full attention only for dots1");
                }
            }
            return;
        }
        JsonNode window = raw.get("sliding_window");
        int windowed = count(config, raw, "max_window_layers", 62, 0);
        if ((window == null || !window.isNull()) && windowed < layers) {
            throw unsupported(config, "gives layers from " + windowed + " on sliding-window attention (sliding_window "
                    + (window == null ? "4096 by default" : window) + ", max_window_layers " + windowed
                    + "), and the forward pass implements full attention only for dots1");
        }
    }

    /**
     * HunYuan-MoE: per-head q/k norms after RoPE, a softmax router renormalised over the top-k ({@code mlp.gate.wg}),
     * a shared MLP of the experts' width on every layer.
     */
    private static ModelDims hunyuan(ModelConfig config, ObjectNode raw) throws FuseboxException {
        for (String field : new String[] {"num_experts", "moe_topk"}) {
            JsonNode v = raw.get(field);
            if (v != null && v.isArray()) {
                throw unsupported(config, "gives " + field + " per layer, and the forward pass implements one value "
                        + "for every layer only");
            }
        }
        int hidden = or(config.hiddenSize(), 4096);
        int heads = or(config.numAttentionHeads(), 32);
        int intermediate = or(config.intermediateSize(), 11008);
        int headDim = or(config.headDim(), hidden / heads);
        return new ModelDims("hunyuan_v1_moe", hidden, intermediate, or(config.numHiddenLayers(), 32), heads,
                or(config.numKeyValueHeads(), heads), headDim, headDim, false, or(config.vocabSize(), 290943),
                or(config.rmsNormEps(), 1e-5), or(config.ropeTheta(), 10000), 0,
                config.tieWordEmbeddings().orElse(false), QkNorm.PER_HEAD_AFTER_ROPE, 0,
                bool(raw, "attention_bias", false) ? QKVO : List.of(),
                new SoftmaxRouter(or(config.numExperts(), 1), count(config, raw, "moe_topk", 1, 1), true, 0),
                CorrectionBias.NONE, Optional.of(new SharedExpert("shared_mlp", intermediate, false)), intermediate,
                List.of(), Optional.empty());
    }

    private static Router sigmoidRouter(ModelConfig config, int experts, int topK, int groups, int topKGroups,
                                        boolean normTopK, double scaling) throws FuseboxException {
        try {
            return new GroupLimitedSigmoidRouter(experts, topK, groups, topKGroups, normTopK, scaling);
        } catch (IllegalArgumentException e) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives " + e.getMessage());
        }
    }

    /**
     * How many channels of a head RoPE turns: int(headDim · partial_rotary_factor), the factor from rope_parameters,
     * the top level, or MiniMax-M2's rotary_dim / headDim, else {@code fallback}.
     */
    private static int rotaryDim(ModelConfig config, ObjectNode raw, int headDim, double fallback)
            throws FuseboxException {
        JsonNode params = raw.get("rope_parameters");
        double factor = fallback;
        if (params != null && params.isObject() && params.has("partial_rotary_factor")) {
            factor = number(config, (ObjectNode) params, "partial_rotary_factor", fallback);
        } else if (raw.has("partial_rotary_factor")) {
            factor = number(config, raw, "partial_rotary_factor", fallback);
        } else if (raw.has("rotary_dim")) {
            return count(config, raw, "rotary_dim", headDim, 1);
        }
        return (int) (headDim * factor);
    }

    /** Whether {@code layer} has a dense MLP in place of the experts. */
    public boolean dense(int layer) {
        return denseLayers.contains(layer);
    }

    public int experts() {
        return router.experts();
    }

    public int topK() {
        return router.topK();
    }

    /** The router's module under the MoE block: {@code gate}, or HunYuan-MoE's {@code gate.wg}. */
    public String routerModule() {
        return modelType.equals("hunyuan_v1_moe") ? "gate.wg" : "gate";
    }

    /** Whether the legacy layout names the MoE block and its experts as Mixtral does (block_sparse_moe, w1/w3/w2). */
    public boolean mixtralLegacyNames() {
        return modelType.equals("mixtral") || modelType.equals("minimax_m2");
    }

    /**
     * Qwen's dense layers: those in mlp_only_layers, and all but every decoder_sparse_step-th, as its decoder layer
     * decides.
     */
    private static List<Integer> qwenDenseLayers(ObjectNode raw, int layers) {
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

    private static FuseboxException unsupported(ModelConfig config, String message) {
        return new FuseboxException(Problem.UNSUPPORTED, config.file(), message);
    }

    private static int required(ModelConfig config, OptionalInt v, String field) throws FuseboxException {
        return required(config, v.isPresent() ? v.getAsInt() : -1, field);
    }

    private static int required(ModelConfig config, int v, String field) throws FuseboxException {
        if (v < 0) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(),
                    "leaves out " + field + ", which the model has no default for");
        }
        return v;
    }

    /** An integer field of at least {@code min}, {@code fallback} when absent or null; anything else is invalid. */
    private static int count(ModelConfig config, ObjectNode node, String field, int fallback, int min)
            throws FuseboxException {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(),
                    "gives " + field + " " + v + ", which is not a whole number of at least " + min);
        }
        return v.intValue();
    }

    /** A number field above 0, {@code fallback} when absent or null; anything else is invalid. */
    private static double number(ModelConfig config, ObjectNode node, String field, double fallback)
            throws FuseboxException {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber() || !(v.doubleValue() > 0) || Double.isInfinite(v.doubleValue())) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(),
                    "gives " + field + " " + v + ", which is not a number above 0");
        }
        return v.doubleValue();
    }

    private static boolean bool(JsonNode node, String field, boolean fallback) {
        JsonNode v = node.get(field);
        return (v != null && v.isBoolean()) ? v.booleanValue() : fallback;
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
