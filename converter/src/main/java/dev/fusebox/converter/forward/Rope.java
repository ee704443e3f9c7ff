package dev.fusebox.converter.forward;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.ModelConfig;

import java.util.Arrays;

/**
 * Rotary position frequencies as transformers 5.18's modeling_rope_utils computes them, for plain RoPE
 * ({@code default}) and YaRN ({@code yarn}): {@code invFreq} per rotated pair, {@code attentionFactor} the factor
 * on cos and sin, and {@code softmaxScale}, DeepSeek's factor on the attention scale (YaRN's mscale of
 * mscale_all_dim, squared; 1 for plain RoPE). Everything is float32 as there, even in a float64 model.
 */
public record Rope(float[] invFreq, float attentionFactor, double softmaxScale) {

    public Rope {
        invFreq = invFreq.clone();
    }

    @Override
    public float[] invFreq() {
        return invFreq.clone();
    }

    /** Equal frequencies and factors: two configs that rotate alike (the verifier compares two sides' dims). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Rope r && Arrays.equals(invFreq, r.invFreq)
                && Float.compare(attentionFactor, r.attentionFactor) == 0
                && Double.compare(softmaxScale, r.softmaxScale) == 0;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(invFreq) + Float.hashCode(attentionFactor) + Double.hashCode(softmaxScale);
    }

    @Override
    public String toString() {
        return "Rope[invFreq=" + Arrays.toString(invFreq) + ", attentionFactor=" + attentionFactor
                + ", softmaxScale=" + softmaxScale + "]";
    }

    /**
     * The frequencies of {@code dim} rotated dimensions from the config's rope_parameters (or rope_scaling);
     * any other RoPE type is {@link Problem#UNSUPPORTED}.
     */
    public static Rope of(ModelConfig config, int dim) throws FuseboxException {
        JsonNode params = parameters(config);
        String type = params == null ? "default" : text(params, "rope_type", text(params, "type", "default"));
        double theta = config.ropeTheta().orElse(10000);
        double partial = params == null ? 1 : number(params, "partial_rotary_factor", 1);
        if (partial != 1) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "rotates a part (" + partial
                    + ") of each head's RoPE dimensions, which the latent-attention pass does not implement");
        }
        float[] pos = new float[dim / 2];
        for (int i = 0; i < pos.length; i++) {
            pos[i] = (float) Math.pow(theta, (float) (2 * i) / dim);
        }
        return switch (type) {
            case "default" -> {
                float[] inv = new float[pos.length];
                for (int i = 0; i < inv.length; i++) {
                    inv[i] = 1f / pos[i];
                }
                yield new Rope(inv, 1f, 1);
            }
            case "yarn" -> yarn(config, params, dim, theta, pos);
            default -> throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "uses '" + type
                    + "' RoPE scaling, and the latent-attention pass implements plain RoPE and YaRN only");
        };
    }

    /** _compute_yarn_parameters, and yarn_apply_mscale's factor on the softmax scale. */
    private static Rope yarn(ModelConfig config, JsonNode p, int dim, double theta, float[] pos)
            throws FuseboxException {
        double factor = number(p, "factor", 0);
        double original = number(p, "original_max_position_embeddings", 0);
        if (factor <= 0 || original <= 0) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "uses YaRN RoPE without a positive "
                    + "factor and original_max_position_embeddings, which transformers needs to compute it");
        }
        double mscale = number(p, "mscale", 0);
        double mscaleAllDim = number(p, "mscale_all_dim", 0);
        JsonNode given = p.get("attention_factor");
        double attention = given != null && given.isNumber() ? given.doubleValue()
                : mscale != 0 && mscaleAllDim != 0 ? mscale(factor, mscale) / mscale(factor, mscaleAllDim)
                : mscale(factor, 1);
        double betaFast = number(p, "beta_fast", 0) == 0 ? 32 : number(p, "beta_fast", 0);
        double betaSlow = number(p, "beta_slow", 0) == 0 ? 1 : number(p, "beta_slow", 0);
        JsonNode truncateNode = p.get("truncate");
        boolean truncate = truncateNode == null || !truncateNode.isBoolean() || truncateNode.booleanValue();
        double low = correctionDim(betaFast, dim, theta, original);
        double high = correctionDim(betaSlow, dim, theta, original);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, dim - 1);
        if (low == high) {
            high += 0.001;
        }
        float[] inv = new float[pos.length];
        for (int i = 0; i < inv.length; i++) {
            float ramp = Math.clamp(((float) i - (float) low) / (float) (high - low), 0f, 1f);
            float extrapolation = 1f - ramp;
            inv[i] = 1f / ((float) factor * pos[i]) * (1f - extrapolation) + 1f / pos[i] * extrapolation;
        }
        double softmax = mscaleAllDim != 0 ? mscale(factor, mscaleAllDim) * mscale(factor, mscaleAllDim) : 1;
        return new Rope(inv, (float) attention, softmax);
    }

    private static double mscale(double scale, double mscale) {
        return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
    }

    /** The dimension at which {@code rotations} full turns fit in the original context. */
    private static double correctionDim(double rotations, int dim, double base, double positions) {
        return dim * Math.log(positions / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    /** cos and sin per position and pair, [tokens][pairs][2], times {@link #attentionFactor}. */
    public float[] table(int tokens) {
        int pairs = invFreq.length;
        float[] table = new float[tokens * pairs * 2];
        for (int p = 0; p < tokens; p++) {
            for (int i = 0; i < pairs; i++) {
                float angle = invFreq[i] * p;
                table[(p * pairs + i) * 2] = (float) Math.cos(angle) * attentionFactor;
                table[(p * pairs + i) * 2 + 1] = (float) Math.sin(angle) * attentionFactor;
            }
        }
        return table;
    }

    private static JsonNode parameters(ModelConfig config) {
        for (String field : new String[] {"rope_parameters", "rope_scaling"}) {
            JsonNode n = config.raw().get(field);
            if (n != null && n.isObject()) {
                return n;
            }
        }
        return null;
    }

    private static double number(JsonNode node, String field, double fallback) {
        JsonNode v = node.get(field);
        return v != null && v.isNumber() ? v.doubleValue() : fallback;
    }

    private static String text(JsonNode node, String field, String fallback) {
        JsonNode v = node.get(field);
        return v != null && v.isTextual() ? v.textValue() : fallback;
    }
}
