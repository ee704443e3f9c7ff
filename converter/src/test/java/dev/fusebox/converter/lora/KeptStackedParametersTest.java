package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * hy_v4's experts are stacked parameters under their v5 names in every version, so LoRA on them (PEFT's
 * target_parameters) is the same adapter in both layouts; only its linear_gate modules are renamed (gate_proj on
 * v5). Pinned on the adapters tools/oracle-lora.py wrote as PEFT writes them (resources lora/oracle/hy_v4), and on
 * what PEFT 0.21 on transformers 5.18 did with them (row.json).
 */
class KeptStackedParametersTest {

    @TempDir
    Path tmp;

    @Test
    void loraOnExpertsBothLayoutsNameAlikeLoadsExactlyAndIsCopiedAsItIs() throws Exception {
        OracleCase c = OracleCase.open("hy_v4", "experts", tmp);
        assertThat(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_EXACTLY);
        AdapterPlan plan = c.plan();
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.LOADS_EXACTLY);
        assertThat(plan.peftCheck().summary()).contains("nothing to convert");
        assertThat(plan.nothingToConvert()).isTrue();
        assertThat(strings(plan.config().get("target_parameters")))
                .containsExactly("experts.gate_up_proj", "experts.down_proj");
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        RenamedCopy.assertRenamedCopy(c.adapter(), v5, Map.of());
    }

    @Test
    void renamedLinearsBesideThemConvertAndTheExpertsLoraKeepsItsNamesAndBytes() throws Exception {
        // PEFT alone drops the LoRA on linear_gate (v5's gate_proj), off by 0.23 in logits; Fusebox's v5 adapter was
        // exact (0.0) and came back, merged into the base converted there and back, within 0.0 of the truth
        OracleCase c = OracleCase.open("hy_v4", "renamed_linears", tmp);
        assertThat(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
        AdapterPlan plan = c.plan();
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThat(String.join(" ", plan.peftCheck().reasons())).contains("v5 renames 4 modules the adapter targets");
        // PEFT saves target_modules from a set, in no fixed order; v5's gate_proj is added beside linear_gate
        assertThat(strings(plan.config().get("target_modules")))
                .containsExactlyInAnyOrder("up_proj", "linear_gate", "gate_proj", "down_proj");
        assertThat(strings(plan.config().get("target_parameters")))
                .containsExactly("experts.gate_up_proj", "experts.down_proj");
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        String layer = "base_model.model.model.layers.";
        RenamedCopy.assertRenamedCopy(c.adapter(), v5, Map.of(layer + "0.mlp.linear_gate.", layer + "0.mlp.gate_proj.",
                layer + "0.self_attn.linear_gate.", layer + "0.self_attn.gate_proj.",
                layer + "1.mlp.shared_experts.linear_gate.", layer + "1.mlp.shared_experts.gate_proj.",
                layer + "1.self_attn.linear_gate.", layer + "1.self_attn.gate_proj."));
        // back, the rules restore only the attention gate's name (v5's mlp.gate_proj is also a name transformers
        // loads for hy_v4); the experts' factors come back as they went
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(v5, back, Optional.of(c.base()), Optional.empty(), Optional.empty());
        RenamedCopy.assertRenamedCopy(c.adapter(), back, Map.of(layer + "0.mlp.linear_gate.",
                layer + "0.mlp.gate_proj.", layer + "1.mlp.shared_experts.linear_gate.",
                layer + "1.mlp.shared_experts.gate_proj."));
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
