package dev.fusebox.converter.checkpoint;

import java.util.Collection;
import java.util.regex.Pattern;

/**
 * Tells the layout from the keys alone: per-expert modules ({@code experts.3.w1}) are legacy; fused expert
 * tensors ({@code experts.gate_up_proj}) and PEFT's wrappers around them ({@code experts.base_layer.lora_A})
 * are v5. A checkpoint with both, or with no experts, is unknown.
 */
public final class LayoutDetector {

    private static final Pattern LEGACY = Pattern.compile("(^|\\.)experts\\.\\d+\\.");
    private static final Pattern V5 = Pattern.compile(
            "(^|\\.)experts\\.(gate_up_proj|down_proj|up_proj|gate_proj|base_layer\\.lora_[AB]|lora_[AB])(\\.|$)");

    private LayoutDetector() {
    }

    public static Layout detect(Collection<String> keys) {
        boolean legacy = false;
        boolean v5 = false;
        for (String k : keys) {
            legacy |= LEGACY.matcher(k).find();
            v5 |= V5.matcher(k).find();
            if (legacy && v5) {
                return Layout.UNKNOWN;
            }
        }
        return legacy ? Layout.LEGACY : v5 ? Layout.V5 : Layout.UNKNOWN;
    }
}
