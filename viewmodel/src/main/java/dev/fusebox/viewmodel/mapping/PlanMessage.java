package dev.fusebox.viewmodel.mapping;

import dev.fusebox.converter.lora.PeftVerdict;

/**
 * Something the mapping screen says above its table: why a checkpoint cannot be converted (a refusal), what a user
 * should know before converting (a warning), or what the PEFT check found about an adapter.
 */
public record PlanMessage(Kind kind, String text) {

    public enum Kind {
        REFUSAL,
        WARNING,
        /** PEFT 0.21 alone would load the adapter meaning what it means (or there is nothing for it to convert). */
        PEFT_FINE,
        /** PEFT 0.21 alone would refuse the adapter, or load it meaning something else: why to convert it here. */
        PEFT_PROBLEM
    }

    /** The PEFT check, in words: its verdict, then each reason on a line of its own. */
    public static PlanMessage peftCheck(PeftVerdict verdict) {
        boolean fine = verdict.outcome() == PeftVerdict.Outcome.LOADS_EXACTLY
                || verdict.outcome() == PeftVerdict.Outcome.NOT_APPLICABLE;
        StringBuilder text = new StringBuilder("PEFT check: ").append(verdict.summary());
        verdict.reasons().forEach(r -> text.append("\n• ").append(r));
        return new PlanMessage(fine ? Kind.PEFT_FINE : Kind.PEFT_PROBLEM, text.toString());
    }
}
