package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.plan.ConversionPlan;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * An adapter conversion: the plan the engine executes (targets are mostly computed: fused or cut LoRA factors;
 * its files hold the rewritten adapter_config.json and its warnings say what changed), the config written, what
 * happens to each target's rank and alpha, and — for a legacy adapter — what PEFT 0.21 would have done instead.
 * {@code nothingToConvert}: the adapter means the same on legacy and v5 models as it is (attention only, say), so
 * the plan copies it.
 */
public record AdapterPlan(ConversionPlan plan, ObjectNode config, Map<String, TargetLora> lora, PeftVerdict peftCheck,
                          boolean nothingToConvert) {

    public AdapterPlan {
        config = config.deepCopy();
        lora = Collections.unmodifiableMap(new LinkedHashMap<>(lora));
    }

    @Override
    public ObjectNode config() {
        return config.deepCopy();
    }

    /** The rank and alpha story of target {@code key}, when it carries LoRA factors. */
    public Optional<TargetLora> lora(String key) {
        return Optional.ofNullable(lora.get(key));
    }
}
