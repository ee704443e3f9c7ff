package dev.fusebox.converter.forward;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.ModelConfig;

import java.util.Locale;

/**
 * The activation of an expert's MLP, by the name transformers' ACT2FN gives it, computed in double. The expert
 * check applies the same one to both layouts, so what matters is that it is the model's own and not linear: a gate
 * swapped with its up then changes the output.
 */
public enum Activation {
    SILU("silu"),
    GELU("gelu"),
    GELU_TANH("gelu_pytorch_tanh"),
    QUICK_GELU("quick_gelu"),
    RELU("relu"),
    RELU2("relu2"),
    SIGMOID("sigmoid"),
    TANH("tanh");

    private final String name;

    Activation(String name) {
        this.name = name;
    }

    public String configName() {
        return name;
    }

    public double apply(double x) {
        return switch (this) {
            case SILU -> x / (1 + Math.exp(-x));
            case GELU -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case QUICK_GELU -> x / (1 + Math.exp(-1.702 * x));
            case RELU -> Math.max(0, x);
            case RELU2 -> x > 0 ? x * x : 0;
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case TANH -> Math.tanh(x);
        };
    }

    /**
     * The activation config.json names for the experts ({@code mlp_hidden_act}, {@code hidden_act} or
     * {@code hidden_activation}, also under {@code text_config}), silu (transformers' default) when it names none.
     */
    public static Activation of(ModelConfig config) throws FuseboxException {
        for (JsonNode node : new JsonNode[] {config.raw(), config.raw().get("text_config")}) {
            if (node == null || !node.isObject()) {
                continue;
            }
            for (String field : new String[] {"mlp_hidden_act", "hidden_act", "hidden_activation"}) {
                JsonNode v = node.get(field);
                if (v != null && v.isTextual()) {
                    return named(v.textValue(), config);
                }
            }
        }
        return SILU;
    }

    private static Activation named(String name, ModelConfig config) throws FuseboxException {
        String n = name.toLowerCase(Locale.ROOT);
        switch (n) {
            case "swish" -> n = "silu";
            case "gelu_new", "gelu_fast", "gelu_python_tanh" -> n = "gelu_pytorch_tanh";
            case "gelu_python" -> n = "gelu";
            default -> {
            }
        }
        for (Activation a : values()) {
            if (a.name.equals(n)) {
                return a;
            }
        }
        throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "names the activation '" + name
                + "', which the expert check does not implement (silu, gelu, gelu_pytorch_tanh, quick_gelu, relu, "
                + "relu2, sigmoid and tanh)");
    }

    /** The error function to about 1e-7 (Abramowitz and Stegun 7.1.26), the same on both sides of a check. */
    private static double erf(double x) {
        double t = 1 / (1 + 0.3275911 * Math.abs(x));
        double y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                + t * 1.061405429)))) * Math.exp(-x * x);
        return x >= 0 ? y : -y;
    }
}
