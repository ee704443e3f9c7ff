package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fusebox.converter.checkpoint.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * granitemoehybrid's MoE block is granitemoe's: 4.57's stacked input_linear/output_linear and 5.18's
 * experts.gate_up_proj/down_proj are both [E, out, in], neither is_transposed, so PEFT's target_parameters factors
 * are copied under the v5 names. Pinned on the adapter the real PEFT 0.21 made on transformers 4.57.6
 * (resources lora/oracle/granitemoehybrid; 4.57 reads the config 5.18 saves once its layer types are 4.57's words).
 */
class GranitemoeHybridAdapterTest {

    @TempDir
    Path tmp;

    @Test
    void loraOnItsRenamedStackedParametersIsCopiedUnderTheNamesPeftGivesThemOnV5AndBack() throws Exception {
        OracleCase c = OracleCase.open("granitemoehybrid", "experts_attention", tmp);
        assertThat(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
        AdapterPlan plan = c.plan();
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        // input_linear.weight stays too: it also names the shared MLP's input_linear, a Linear PEFT wraps through it
        assertThat(strings(plan.config().get("target_parameters")))
                .containsExactly("input_linear.weight", "gate_up_proj", "output_linear.weight", "down_proj");
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        String layer = "base_model.model.model.layers.0.block_sparse_moe.";
        try (Checkpoint legacy = Checkpoint.open(c.adapter()); Checkpoint written = Checkpoint.open(v5)) {
            assertThat(written.tensors().keySet()).hasSameSizeAs(legacy.tensors().keySet())
                    .noneMatch(k -> k.contains("block_sparse_moe.input_linear"));
            for (String[] renamed : new String[][] {{"input_linear.", "experts.base_layer."},
                    {"output_linear.", "experts."}}) {
                for (String factor : List.of("lora_A.weight", "lora_B.weight")) {
                    assertThat(written.tensor(layer + renamed[1] + factor).orElseThrow().data()
                            .toArray(ValueLayout.JAVA_BYTE)).isEqualTo(legacy.tensor(layer + renamed[0] + factor)
                            .orElseThrow().data().toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(v5, back, Optional.of(c.base()), Optional.empty(), Optional.empty());
        assertThat(Files.readAllBytes(back.resolve("adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(c.adapter().resolve("adapter_model.safetensors")));
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
