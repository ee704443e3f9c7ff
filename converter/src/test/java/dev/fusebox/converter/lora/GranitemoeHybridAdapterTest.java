package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
        Map<String, String> renames = new HashMap<>();
        for (int layer = 0; layer < 2; layer++) {
            String moe = "base_model.model.model.layers." + layer + ".block_sparse_moe.";
            renames.put(moe + "input_linear.", moe + "experts.base_layer.");
            renames.put(moe + "output_linear.", moe + "experts.");
        }
        RenamedCopy.assertRenamedCopy(c.adapter(), v5, renames);
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
