package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Families are data: a qwen3_moe adapter (per-expert gate_proj/up_proj/down_proj, a shared expert with the same
 * leaf names, a router) converts with the qwen2_moe rule file, and merges exactly. PEFT 0.21 strips gate_proj from
 * target_modules for qwen3_moe, so the shared expert's LoRA is named by its full parameter name instead
 * (tools/oracle-lora.py measured that remedy on deepseek_v3 and glm4_moe, whose shared experts and dense layers
 * PEFT drops the same way).
 */
class Qwen2MoeAdapterTest {

    private static final String P = "model.layers.0.";

    @TempDir
    Path tmp;

    private Path base;
    private Path legacy;

    @BeforeEach
    void writeABaseAndAnAdapter() throws Exception {
        ObjectNode model = JsonMapper.builder().build().createObjectNode();
        model.put("model_type", "qwen3_moe").put("hidden_size", 32).put("moe_intermediate_size", 48)
                .put("num_experts", 2).put("num_hidden_layers", 1);
        SyntheticAdapter b = SyntheticAdapter.empty(model);
        long seed = 100;
        for (int e = 0; e < 2; e++) {
            b.random(P + "mlp.experts." + e + ".gate_proj.weight", seed++, 48, 32)
                    .random(P + "mlp.experts." + e + ".up_proj.weight", seed++, 48, 32)
                    .random(P + "mlp.experts." + e + ".down_proj.weight", seed++, 32, 48);
        }
        base = b.random(P + "mlp.shared_expert.gate_proj.weight", seed++, 64, 32)
                .random(P + "mlp.gate.weight", seed++, 2, 32).random(P + "self_attn.q_proj.weight", seed, 32, 32)
                .writeModel(tmp.resolve("qwen-base"));

        ObjectNode config = JsonMapper.builder().build().createObjectNode();
        config.put("peft_type", "LORA").put("r", 4).put("lora_alpha", 8).put("lora_dropout", 0.0)
                .put("use_rslora", false).put("base_model_name_or_path", base.toString());
        config.putArray("target_modules").add("gate_proj").add("up_proj").add("down_proj").add("q_proj").add("gate");
        SyntheticAdapter s = SyntheticAdapter.empty(config);
        String pre = "base_model.model." + P;
        seed = 0;
        for (int e = 0; e < 2; e++) {
            String ex = pre + "mlp.experts." + e + ".";
            s.random(ex + "gate_proj.lora_A.weight", seed++, 4, 32).random(ex + "gate_proj.lora_B.weight", seed++, 48, 4)
                    .random(ex + "up_proj.lora_A.weight", seed++, 4, 32).random(ex + "up_proj.lora_B.weight", seed++, 48, 4)
                    .random(ex + "down_proj.lora_A.weight", seed++, 4, 48)
                    .random(ex + "down_proj.lora_B.weight", seed++, 32, 4);
        }
        legacy = s.random(pre + "mlp.shared_expert.gate_proj.lora_A.weight", seed++, 4, 32)
                .random(pre + "mlp.shared_expert.gate_proj.lora_B.weight", seed++, 64, 4)
                .random(pre + "mlp.gate.lora_A.weight", seed++, 4, 32).random(pre + "mlp.gate.lora_B.weight", seed++, 2, 4)
                .random(pre + "self_attn.q_proj.lora_A.weight", seed++, 4, 32)
                .random(pre + "self_attn.q_proj.lora_B.weight", seed, 32, 4).write(tmp.resolve("qwen-legacy"));
    }

    @Test
    void expertsBecomeParametersAndTheSharedExpertIsNamedInFull() throws Exception {
        AdapterPlan plan = AdapterFixtures.plan(legacy, Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(plan.plan().rules()).startsWith("qwen2_moe rules");
        assertThat(plan.config().get("target_parameters").toString()).isEqualTo("[\"gate_up_proj\",\"down_proj\","
                + "\"gate.weight\",\"model.layers.0.mlp.shared_expert.gate_proj.weight\"]");
        assertThat(plan.config().get("target_modules").toString()).isEqualTo("[\"q_proj\"]");
        assertThat(plan.plan().target("base_model.model." + P + "mlp.experts.base_layer.lora_B.weight").orElseThrow()
                .shape().dims()).containsExactly(96, 16);
        assertThat(plan.plan().target("base_model.model." + P + "mlp.shared_expert.gate_proj.lora_A.weight"))
                .isPresent();
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("strips 'gate_proj' from target_modules for "
                + "qwen3_moe") && r.contains("model.layers.0.mlp.shared_expert.gate_proj"));

        Path v5 = tmp.resolve("qwen-v5");
        AdapterFixtures.convert(legacy, v5, Optional.empty(), Optional.empty(), Optional.empty());
        Path back = tmp.resolve("qwen-back");
        AdapterFixtures.convert(v5, back, Optional.empty(), Optional.of(Layout.LEGACY), Optional.empty());
        assertThat(Files.mismatch(back.resolve(Checkpoint.ADAPTER_WEIGHTS), legacy.resolve(Checkpoint.ADAPTER_WEIGHTS)))
                .isEqualTo(-1L);

        Path fromLegacy = tmp.resolve("merged-legacy");
        MergeFixtureTest.merge(base, legacy, fromLegacy, Optional.of(Layout.V5));
        Path fromV5 = tmp.resolve("merged-v5");
        MergeFixtureTest.merge(base, v5, fromV5, Optional.of(Layout.V5));
        MergeFixtureTest.assertWithinRounding(fromV5, fromLegacy);
    }

    @Test
    void withoutItsBaseAQwenAdapterIsTakenForQwenButItsModelTypeIsMarkedAGuess() throws Exception {
        AdapterPlan plan = AdapterFixtures.plan(unbased(legacy), Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(plan.plan().rules()).startsWith("qwen2_moe rules");
        // taken for qwen2_moe, whose router is a TopKRouter module on v5: PEFT refuses a LoRA on it (oracle-lora.py)
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("TopKRouter() is not supported"));
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("'qwen2_moe'") && r.contains("guess"));
    }

    @Test
    void withoutItsBaseAV5AdapterIsRefusedRatherThanGuessed() throws Exception {
        Path v5 = tmp.resolve("qwen-v5");
        AdapterFixtures.convert(legacy, v5, Optional.empty(), Optional.empty(), Optional.empty());
        assertThatThrownBy(() -> AdapterFixtures.plan(unbased(v5), Optional.empty(), Optional.empty(),
                Optional.empty())).isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.NO_RULES);
                    assertThat(e.getMessage()).endsWith("; name its base model").doesNotContain("--");
                    assertThat(e.remedy()).contains(Remedy.BASE_MODEL);
                });
    }

    private Path unbased(Path adapter) throws Exception {
        return SyntheticAdapter.from(adapter).config(c -> c.put("base_model_name_or_path", "Qwen/Qwen3-30B-A3B"))
                .write(tmp.resolve(adapter.getFileName() + "-unbased"));
    }
}
