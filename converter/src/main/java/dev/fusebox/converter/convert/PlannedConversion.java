package dev.fusebox.converter.convert;

import dev.fusebox.converter.lora.AdapterPlan;
import dev.fusebox.converter.lora.PeftVerdict;
import dev.fusebox.converter.plan.ConversionPlan;

import java.util.Optional;

/**
 * A conversion decided before a byte is written: the plan the executor runs (its warnings, and the other inputs
 * its computed targets read, among it) and, for an adapter, the adapter's side of the story: the config written,
 * each target's rank and alpha before and after, and the PEFT check.
 */
public record PlannedConversion(ConversionPlan plan, Optional<AdapterPlan> adapter) {

    /** For a legacy adapter, what PEFT 0.21 alone would do with it on a v5 model. */
    public Optional<PeftVerdict> peftCheck() {
        return adapter.map(AdapterPlan::peftCheck);
    }
}
