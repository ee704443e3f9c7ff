package dev.fusebox.converter.lora;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A legacy adapter none of whose target_modules PEFT 0.21 finds on the v5 model is one it refuses to load, not one
 * it loads wrong. Pinned on nemotron_h's `"all-linear"` adapter (resources lora/oracle/nemotron_h/all_linear):
 * under 20 Linear modules, PEFT saves them by full name (backbone.layers.N…, model.layers.N… on v5), and PEFT has
 * no pattern for nemotron_h, so it keeps the per-expert names too, which v5 has not.
 */
class NoTargetFoundOnV5Test {

    @TempDir
    Path tmp;

    @Test
    void fullNamesV5RenamesBesidePerExpertModulesPeftDoesNotConvertAreARefusal() throws Exception {
        OracleCase c = OracleCase.open("nemotron_h", "all_linear", tmp);
        assertThat(c.peft()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(c.row().get("peft_detail").asText()).startsWith("NoMatchingPeftModuleError: Target modules");
        PeftVerdict check = c.plan().peftCheck();
        assertThat(check.outcome()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(String.join(" ", check.reasons())).contains("v5 renames 6 modules the adapter targets")
                .contains("it keeps targeting the per-expert modules, which v5 no longer has, and finds no target "
                        + "module at all.");
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
    }
}
