package dev.fusebox.converter.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fusebox.converter.rules.RuleSet;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.Collection;
import java.util.Optional;

/**
 * Tells the layout from the keys alone: per-expert modules ({@code experts.3.w1}) are legacy; fused expert
 * tensors ({@code experts.gate_up_proj}, MXFP4's {@code experts.gate_up_proj_blocks}) and PEFT's wrappers around
 * them ({@code experts.base_layer.lora_A}) are v5. A checkpoint with both, or with no experts, is unknown. A family's rules tell more where they apply
 * (granitemoe's legacy keys have no per-expert modules; qwen3_vl_moe's keys are the same in both layouts and only
 * the shapes against config.json differ; gpt-oss was born fused), so {@link #detect(Collection, Optional, RuleSet)}
 * asks them first.
 */
public final class LayoutDetector {

    private static final String EXPERTS = "experts.";
    private static final String[] FUSED = {"gate_up_proj", "down_proj", "up_proj", "gate_proj",
            "gate_up_proj_blocks", "down_proj_blocks",
            "base_layer.lora_A", "base_layer.lora_B", "lora_A", "lora_B"};

    private LayoutDetector() {
    }

    /**
     * The layout the family's rules see in {@code tensors} (with {@code config}, config.json, where shapes tell), or,
     * when they see nothing, the key heuristics'. Both layouts at once, a tensor whose shape fits neither, or only
     * shapes that fit both make it unknown.
     */
    public static Layout detect(Collection<TensorSpec> tensors, Optional<JsonNode> config, RuleSet rules) {
        if (rules.bornFused()) {
            return Layout.V5;
        }
        RuleSet.Evidence evidence = rules.evidence(tensors, config);
        boolean seen = evidence.legacyKey().isPresent() || evidence.v5Key().isPresent()
                || evidence.misfit().isPresent() || evidence.square().isPresent();
        return seen ? fromEvidence(evidence) : detect(tensors.stream().map(TensorSpec::key).toList());
    }

    /**
     * Legacy when only legacy keys are seen, v5 when only v5 keys are, unknown otherwise, and unknown whenever a
     * tensor's shape fits neither layout (or config.json does not say). A shape that fits both says nothing.
     */
    public static Layout fromEvidence(RuleSet.Evidence evidence) {
        boolean legacy = evidence.legacyKey().isPresent();
        boolean v5 = evidence.v5Key().isPresent();
        return legacy == v5 || evidence.misfit().isPresent() ? Layout.UNKNOWN : legacy ? Layout.LEGACY : Layout.V5;
    }

    /** The layout by key heuristics alone (per-expert indices versus fused expert tensors). */
    public static Layout detect(Collection<String> keys) {
        boolean legacy = false;
        boolean v5 = false;
        // Plain string scanning, not regexes: this runs over every key of checkpoints with 100 000 of them.
        for (String k : keys) {
            for (int at = k.indexOf(EXPERTS); at >= 0; at = k.indexOf(EXPERTS, at + 1)) {
                if (at > 0 && k.charAt(at - 1) != '.') {
                    continue;
                }
                int rest = at + EXPERTS.length();
                legacy |= isIndexSegment(k, rest);
                v5 |= isFusedSegment(k, rest);
            }
            if (legacy && v5) {
                return Layout.UNKNOWN;
            }
        }
        return legacy ? Layout.LEGACY : v5 ? Layout.V5 : Layout.UNKNOWN;
    }

    /** {@code experts.12.} */
    private static boolean isIndexSegment(String k, int from) {
        int i = from;
        while (i < k.length() && Character.isDigit(k.charAt(i))) {
            i++;
        }
        return i > from && i < k.length() && k.charAt(i) == '.';
    }

    /** {@code experts.gate_up_proj} (end of key or followed by a dot). */
    private static boolean isFusedSegment(String k, int from) {
        for (String name : FUSED) {
            int end = from + name.length();
            if (k.startsWith(name, from) && (end == k.length() || k.charAt(end) == '.')) {
                return true;
            }
        }
        return false;
    }
}
