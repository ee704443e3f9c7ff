package dev.fusebox.converter.lora;

import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The PEFT check against what PEFT 0.21 did with the fixtures (summary.json): plain adapters load exactly, rsLoRA
 * ones load with the fused gate/up √2 too large (the other cases are in {@link PartialAdapterTest}).
 */
class PeftCheckTest {

    @Test
    void aPlainLegacyAdapterIsOnePeftLoadsExactly() throws Exception {
        for (String name : new String[] {"attn_experts", "experts_gate"}) {
            PeftVerdict v = check(name);
            assertThat(v.outcome()).as(name).isEqualTo(PeftVerdict.Outcome.LOADS_EXACTLY);
            assertThat(v.reasons()).as(name).isEmpty();
        }
    }

    @Test
    void anRsloraAdapterIsOnePeftScalesTooMuchInEveryFusedGateUp() throws Exception {
        for (String name : new String[] {"attn_experts_rslora", "experts_gate_rslora"}) {
            PeftVerdict v = check(name);
            assertThat(v.outcome()).as(name).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
            assertThat(v.reasons()).as(name).hasSize(2).allMatch(r -> r.contains("gate_up_proj")
                    && r.contains("√2") && r.contains("alpha·sqrt(2)"));
        }
    }

    private static PeftVerdict check(String name) throws Exception {
        return AdapterFixtures.plan(Fixtures.tiny("legacy-lora-" + name), Optional.empty(), Optional.empty(),
                Optional.empty()).peftCheck();
    }

    @Test
    void factorsAreSaidAsTheyAre() {
        assertThat(PeftCheck.factor(Math.sqrt(2))).isEqualTo("√2 (1.41421×) too large");
        assertThat(PeftCheck.factor(Math.sqrt(3))).isEqualTo("√3 (1.73205×) too large");
        assertThat(PeftCheck.factor(4)).isEqualTo("4× too large");
        assertThat(PeftCheck.factor(0.5)).isEqualTo("at half its scale");
        assertThat(PeftCheck.factor(0.25)).isEqualTo("at 1/4 of its scale");
        assertThat(PeftCheck.factor(1 / Math.sqrt(3))).isEqualTo("at 1/√3 of its scale");
        assertThat(PeftCheck.factor(0.4)).isEqualTo("at 0.4× its scale");
    }
}
