package dev.fusebox.converter.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * config.json's {@code quantization_config}, as pre-quantized checkpoints carry it: its {@code quant_method}
 * ({@code fp8}, {@code gptq}, {@code awq}, {@code bitsandbytes}, {@code compressed-tensors}, {@code mxfp4}…), the
 * FP8 block size where it gives one, and the whole object for display.
 *
 * @param method          {@code quant_method}, lower case ("unknown" when absent)
 * @param weightBlockSize {@code weight_block_size} as [rows, columns], where given as two positive integers
 * @param raw             the object as config.json has it
 */
public record QuantizationConfig(String method, Optional<List<Integer>> weightBlockSize, JsonNode raw) {

    public QuantizationConfig {
        weightBlockSize = weightBlockSize.map(List::copyOf);
    }

    /** The {@code quantization_config} of {@code config}, if it has one that is an object. */
    public static Optional<QuantizationConfig> of(JsonNode config) {
        JsonNode q = config == null ? null : config.get("quantization_config");
        if (q == null || !q.isObject()) {
            return Optional.empty();
        }
        JsonNode m = q.get("quant_method");
        String method = m != null && m.isTextual() ? m.asText().toLowerCase(Locale.ROOT) : "unknown";
        return Optional.of(new QuantizationConfig(method, blockSize(q.get("weight_block_size")), q.deepCopy()));
    }

    private static Optional<List<Integer>> blockSize(JsonNode b) {
        if (b == null || !b.isArray() || b.size() != 2) {
            return Optional.empty();
        }
        List<Integer> out = new ArrayList<>();
        for (JsonNode n : b) {
            if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0) {
                return Optional.empty();
            }
            out.add(n.asInt());
        }
        return Optional.of(out);
    }

    /** Whether it declares transformers' fine-grained FP8 ({@code quant_method: fp8}). */
    public boolean fineGrainedFp8() {
        return method.equals("fp8");
    }

    /** One line for inspect: the method and the fields that say most about it. */
    public String describe() {
        List<String> parts = new ArrayList<>();
        for (String field : List.of("fmt", "format", "bits", "group_size", "load_in_4bit", "load_in_8bit",
                "bnb_4bit_quant_type", "weight_block_size", "activation_scheme", "version")) {
            JsonNode v = raw.get(field);
            if (v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean())) {
                parts.add(field + " " + v);
            }
        }
        return method + (parts.isEmpty() ? "" : " (" + String.join(", ", parts) + ")");
    }
}
