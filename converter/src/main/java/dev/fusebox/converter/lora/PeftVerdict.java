package dev.fusebox.converter.lora;

import java.util.List;

/**
 * What PEFT 0.21 on transformers 5 would do with a legacy adapter on the v5 model, as Fusebox predicts it from
 * PEFT's own conversion code: so a user knows whether they need Fusebox at all.
 *
 * @param outcome what would happen
 * @param summary one sentence
 * @param reasons why, one sentence each (empty when it would simply load exactly)
 */
public record PeftVerdict(Outcome outcome, String summary, List<String> reasons) {

    public PeftVerdict {
        reasons = List.copyOf(reasons);
    }

    public enum Outcome {
        /** PEFT converts it itself and the result means what the adapter meant. */
        LOADS_EXACTLY("loads_exactly"),
        /** PEFT loads it without an error, but the result does not mean what the adapter meant. */
        LOADS_WRONG("loads_wrong"),
        /** PEFT raises an error while loading. */
        REFUSES("refuses"),
        /** Not a legacy adapter: there is nothing for PEFT to convert. */
        NOT_APPLICABLE("not_applicable");

        private final String jsonName;

        Outcome(String jsonName) {
            this.jsonName = jsonName;
        }

        public String jsonName() {
            return jsonName;
        }
    }
}
