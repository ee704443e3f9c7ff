package dev.fusebox.converter.plan;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.QuantizationConfig;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The expert tensors a plan would leave behind, told apart by format: tensors under a module whose experts a rule
 * fuses (or splits) that no converter consumes (quantization companions, packed weights, biases the rules do not
 * know), and expert weights a converter takes that are not plain floats. Converting around them would write a
 * checkpoint half in each layout, which no transformers loads right, so the plan is refused, naming the format
 * (from config.json's {@code quant_method}, else from the companions' names) and the tensors.
 */
final class QuantizedExperts {

    /** The formats of pre-quantized experts that can be told, each as the refusal names it. */
    enum Format {
        GPTQ("GPTQ-quantized experts (qweight/qzeros/scales/g_idx)"),
        AWQ("AWQ-quantized experts (qweight/qzeros/scales)"),
        GPTQ_OR_AWQ("GPTQ- or AWQ-quantized experts (qweight/qzeros/scales)"),
        BNB_4BIT("bitsandbytes 4-bit experts (packed uint8 weights with absmax/quant_map/quant_state)"),
        BNB_8BIT("bitsandbytes 8-bit experts (int8 weights with SCB)"),
        PACK_QUANTIZED("compressed-tensors pack-quantized experts (weight_packed/weight_scale/weight_shape)"),
        COMPRESSED_FP8("compressed-tensors FP8 experts (weight with weight_scale)"),
        FP8_STATIC("FP8 experts with static activation scales (activation_scale)"),
        MXFP4("MXFP4 experts (_blocks/_scales)"),
        UNKNOWN("expert tensors that no rule converts");

        private final String description;

        Format(String description) {
            this.description = description;
        }

        String description() {
            return description;
        }
    }

    private QuantizedExperts() {
    }

    /** The format {@code leftovers} show, read first from {@code config}'s quant_method, then from their names. */
    static Format format(List<TensorSpec> leftovers, Optional<QuantizationConfig> config) {
        boolean packed = any(leftovers, "weight_packed", "weight_shape", "weight_zero_point", "weight_g_idx");
        boolean fourBit = any(leftovers, "absmax", "quant_map", "nested_absmax", "nested_quant_map")
                || leftovers.stream().anyMatch(t -> t.key().contains(".quant_state."));
        switch (config.map(QuantizationConfig::method).orElse("")) {
            case "gptq" -> {
                return Format.GPTQ;
            }
            case "awq" -> {
                return Format.AWQ;
            }
            case "bitsandbytes" -> {
                return fourBit || !any(leftovers, "SCB", "weight_format") ? Format.BNB_4BIT : Format.BNB_8BIT;
            }
            case "compressed-tensors" -> {
                return packed ? Format.PACK_QUANTIZED : Format.COMPRESSED_FP8;
            }
            case "mxfp4" -> {
                return Format.MXFP4;
            }
            case "fp8" -> {
                if (any(leftovers, "activation_scale", "input_scale")) {
                    return Format.FP8_STATIC;
                }
            }
            default -> {
            }
        }
        if (any(leftovers, "qweight", "qzeros", "g_idx")) {
            return Format.GPTQ_OR_AWQ;
        }
        if (fourBit) {
            return Format.BNB_4BIT;
        }
        if (any(leftovers, "SCB", "weight_format")) {
            return Format.BNB_8BIT;
        }
        if (packed) {
            return Format.PACK_QUANTIZED;
        }
        if (any(leftovers, "activation_scale")) {
            return Format.FP8_STATIC;
        }
        if (any(leftovers, "weight_scale")) {
            return Format.COMPRESSED_FP8;
        }
        if (leftovers.stream().anyMatch(t -> t.key().endsWith("_blocks") || t.key().endsWith("_scales"))) {
            return Format.MXFP4;
        }
        return Format.UNKNOWN;
    }

    /** The refusal of a plan toward {@code to} that would leave {@code leftovers} in the other layout. */
    static FuseboxException refusal(Path file, List<TensorSpec> leftovers, Optional<QuantizationConfig> config,
                                    Layout to, String family) {
        Format format = format(leftovers, config);
        TensorSpec first = leftovers.getFirst();
        String examples = describe(first) + (leftovers.size() > 1 ? ", " + describe(leftovers.get(1)) : "")
                + (leftovers.size() > 2 ? " and " + (leftovers.size() - 2) + " more" : "");
        String held = to == Layout.V5 ? "transformers v5 cannot hold them fused; keep this checkpoint in the legacy "
                + "layout, or dequantize it first"
                : "Fusebox cannot split them per expert; keep this checkpoint in the v5 layout, or dequantize it first";
        if (format == Format.UNKNOWN) {
            return new FuseboxException(Problem.UNSUPPORTED, file, first.key(), "it and the other expert tensors "
                    + "that no " + family + " rule converts (" + examples + ") would stay per expert beside the "
                    + "converted ones, a checkpoint half in each layout; these may be quantization companions, packed "
                    + "weights or biases the rules do not know, so " + held);
        }
        return new FuseboxException(Problem.UNSUPPORTED, file, format.description() + " (" + examples + "): "
                + held);
    }

    private static String describe(TensorSpec t) {
        return "'" + t.key() + "' (" + t.dtype() + " " + t.shape() + ")";
    }

    /** Whether the last segment of some key (after its last dot) is one of {@code leaves}. */
    private static boolean any(List<TensorSpec> tensors, String... leaves) {
        for (TensorSpec t : tensors) {
            String k = t.key();
            String leaf = k.substring(k.lastIndexOf('.') + 1);
            for (String l : leaves) {
                if (leaf.equals(l)) {
                    return true;
                }
            }
        }
        return false;
    }
}
