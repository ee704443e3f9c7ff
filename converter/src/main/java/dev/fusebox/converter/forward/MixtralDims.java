package dev.fusebox.converter.forward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.ModelConfig;

import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * What the forward pass needs to know of a Mixtral: its sizes and constants, with transformers' MixtralConfig
 * defaults for what config.json leaves out. {@code slidingWindow} is 0 when attention is not windowed.
 */
public record MixtralDims(int hidden, int intermediate, int experts, int topK, int layers, int heads, int kvHeads,
                          int headDim, int vocab, double rmsNormEps, double ropeTheta, int slidingWindow,
                          boolean tieWordEmbeddings) {

    /** The model types whose forward pass this is. */
    public static final String MODEL_TYPE = "mixtral";

    /** Reads and checks a config; a model the pass does not implement is {@link Problem#UNSUPPORTED}. */
    public static MixtralDims of(ModelConfig config) throws FuseboxException {
        String type = config.modelType().orElse(null);
        if (!MODEL_TYPE.equals(type)) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "is a "
                    + (type == null ? "config without a model_type" : "'" + type + "' model")
                    + ", and the sample forward pass implements Mixtral only");
        }
        ObjectNode raw = config.raw();
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
        int hidden = or(config.hiddenSize(), 4096);
        int heads = or(config.numAttentionHeads(), 32);
        JsonNode window = raw.get("sliding_window");
        int slidingWindow = window != null && window.isIntegralNumber() && window.intValue() > 0 ? window.intValue() : 0;
        MixtralDims d = new MixtralDims(hidden, or(config.intermediateSize(), 14336), or(config.numExperts(), 8),
                or(config.numExpertsPerTok(), 2), or(config.numHiddenLayers(), 32), heads,
                or(config.numKeyValueHeads(), 8), or(config.headDim(), hidden / heads), or(config.vocabSize(), 32000),
                or(config.rmsNormEps(), 1e-5), or(config.ropeTheta(), 1e6), slidingWindow,
                config.tieWordEmbeddings().orElse(false));
        if (d.heads % d.kvHeads != 0 || d.topK > d.experts || d.headDim % 2 != 0) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives " + d.heads
                    + " attention heads, " + d.kvHeads + " key/value heads, head size " + d.headDim + ", "
                    + d.topK + " of " + d.experts + " experts per token, which do not fit together");
        }
        return d;
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
