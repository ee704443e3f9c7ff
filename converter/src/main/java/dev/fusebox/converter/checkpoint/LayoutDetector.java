package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.rules.RuleSet;

import java.util.Collection;

/**
 * Tells the layout from the keys alone: per-expert modules ({@code experts.3.w1}) are legacy; fused expert
 * tensors ({@code experts.gate_up_proj}) and PEFT's wrappers around them ({@code experts.base_layer.lora_A})
 * are v5. A checkpoint with both, or with no experts, is unknown. A family's rules tell more where they apply
 * (granitemoe's legacy keys have no per-expert modules), so {@link #detect(Collection, RuleSet)} asks them first.
 */
public final class LayoutDetector {

    private static final String EXPERTS = "experts.";
    private static final String[] FUSED = {"gate_up_proj", "down_proj", "up_proj", "gate_proj",
            "base_layer.lora_A", "base_layer.lora_B", "lora_A", "lora_B"};

    private LayoutDetector() {
    }

    /** The layout the family's rules see in {@code keys}, or, when they see neither or both, the key heuristics'. */
    public static Layout detect(Collection<String> keys, RuleSet rules) {
        Layout byRules = fromEvidence(rules.evidence(keys));
        return byRules != Layout.UNKNOWN ? byRules : detect(keys);
    }

    /** Legacy when only legacy keys are seen, v5 when only v5 keys are, unknown otherwise. */
    public static Layout fromEvidence(RuleSet.Evidence evidence) {
        boolean legacy = evidence.legacyKey().isPresent();
        boolean v5 = evidence.v5Key().isPresent();
        return legacy == v5 ? Layout.UNKNOWN : legacy ? Layout.LEGACY : Layout.V5;
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
