package dev.fusebox.converter.lora;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** PEFT cannot write the legacy format back; the adapters PEFT 0.21 itself saved convert back to their origin. */
class V5ToLegacyFixtureTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"attn_experts", "experts_gate", "attn_experts_rslora-alpha-fixed",
            "experts_gate_rslora-alpha-fixed"})
    void whatPeftSavedConvertsBackToTheLegacyAdapterItCameFrom(String saved) throws Exception {
        String origin = saved.replace("-alpha-fixed", "");
        Path out = tmp.resolve("legacy");
        AdapterFixtures.convert(Fixtures.tiny("peft-saved-" + saved), out, Optional.empty(), Optional.empty(),
                Optional.of(Dtype.F32));
        Path legacy = Fixtures.tiny("legacy-lora-" + origin);
        assertThat(Files.mismatch(out.resolve(Checkpoint.ADAPTER_WEIGHTS), legacy.resolve(Checkpoint.ADAPTER_WEIGHTS)))
                .isEqualTo(-1L);
        AdapterFixtures.assertSameMeaning(out.resolve(Checkpoint.ADAPTER_CONFIG),
                legacy.resolve(Checkpoint.ADAPTER_CONFIG));
    }

    @Test
    void anRsloraAdapterAsPeftConvertedItIsRecognisedAndKeptAsItIs() throws Exception {
        AdapterPlan plan = AdapterFixtures.plan(Fixtures.tiny("peft-saved-attn_experts_rslora"), Optional.empty(),
                Optional.empty(), Optional.empty());
        assertThat(plan.plan().to()).isEqualTo(Layout.LEGACY);
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.NOT_APPLICABLE);
        assertThat(plan.plan().warnings()).anyMatch(w -> w.contains("model.layers.0.mlp.experts.gate_up_proj")
                && w.contains("sqrt(2) too large") && w.contains("the original alpha was 8"));
        assertThat(plan.config().get("alpha_pattern").get("w1").doubleValue()).isEqualTo(8 * Math.sqrt(2));
        assertThat(plan.config().get("alpha_pattern").get("w3").doubleValue()).isEqualTo(8 * Math.sqrt(2));
        assertThat(plan.config().get("alpha_pattern").has("w2")).isFalse();
    }
}
