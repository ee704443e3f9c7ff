package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.Dtype;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The decisions tools/oracle-lora.py checked against the real PEFT 0.21 on transformers 5.18, pinned on the legacy
 * adapters it made with the real PEFT (resources lora/oracle): what the converted adapter_config.json says, in which
 * order, and what the PEFT check predicts, which must be what PEFT did with the legacy adapter (row.json).
 */
class OracleAdapterTest {

    @TempDir
    Path tmp;

    @Test
    void deepseekDenseAndSharedExpertModulesAreNamedInFullBecausePeftStripsTheirNames() throws Exception {
        OracleCase c = OracleCase.open("deepseek_v3", "experts", tmp);
        AdapterPlan plan = c.plan();
        assertThat(strings(plan.config().get("target_parameters"))).containsExactly("gate_up_proj", "down_proj",
                "model.layers.0.mlp.down_proj.weight", "model.layers.0.mlp.gate_proj.weight",
                "model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.shared_experts.down_proj.weight",
                "model.layers.1.mlp.shared_experts.gate_proj.weight", "model.layers.1.mlp.shared_experts.up_proj.weight");
        assertThat(strings(plan.config().get("target_modules"))).isEmpty();
        assertThat(plan.plan().target("base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight")).isPresent();
        assertThat(plan.nothingToConvert()).isFalse();
        assertThat(plan.peftCheck().outcome()).isEqualTo(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("strips 'down_proj', 'gate_proj', 'up_proj' "
                + "from target_modules for deepseek_v3") && r.contains("6 modules"));
    }

    @Test
    void ernieAndExaoneDenseLayersAndSharedExpertsAreNamedInFullLikeDeepseeks() throws Exception {
        // ernie4_5_moe's adapter was made by PEFT in transformers 4.57; exaone_moe, which 4.57 lacks, by hand
        for (String type : List.of("ernie4_5_moe", "exaone_moe")) {
            OracleCase c = OracleCase.open(type, "experts", tmp);
            AdapterPlan plan = c.plan();
            assertThat(strings(plan.config().get("target_parameters"))).as(type).containsExactly("gate_up_proj",
                    "down_proj", "model.layers.0.mlp.down_proj.weight", "model.layers.0.mlp.gate_proj.weight",
                    "model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.shared_experts.down_proj.weight",
                    "model.layers.1.mlp.shared_experts.gate_proj.weight",
                    "model.layers.1.mlp.shared_experts.up_proj.weight");
            assertThat(strings(plan.config().get("target_modules"))).as(type).isEmpty();
            assertThat(plan.peftCheck().outcome()).as(type).isEqualTo(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
            assertThat(plan.peftCheck().reasons()).as(type).anyMatch(r -> r.contains("strips 'down_proj', 'gate_proj', "
                    + "'up_proj' from target_modules for " + type) && r.contains("6 modules"));
            assertThat(c.row().get("fusebox").asText()).as(type).isEqualTo("exact");
        }
    }

    @Test
    void minimaxM2ExpertsArePeftsOwnMixtralCaseAndLoadExactly() throws Exception {
        OracleCase c = OracleCase.open("minimax_m2", "experts", tmp);
        AdapterPlan plan = c.plan();
        assertThat(plan.peftCheck().outcome()).isEqualTo(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_EXACTLY);
        assertThat(strings(plan.config().get("target_parameters"))).containsExactly("gate_up_proj", "down_proj");
        assertThat(strings(plan.config().get("target_modules"))).isEmpty();
        assertThat(plan.nothingToConvert()).isFalse();
    }

    @Test
    void patternMapsAreWrittenInTheOrderThatGivesEachTargetItsOwnValue() throws Exception {
        OracleCase c = OracleCase.open("glm4_moe", "rank_alpha_pattern", tmp);
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        String text = Files.readString(v5.resolve(Checkpoint.ADAPTER_CONFIG));
        JsonNode written = AdapterFixtures.json(v5.resolve(Checkpoint.ADAPTER_CONFIG));
        assertThat(keys(written.get("rank_pattern"))).containsExactly("model\\.layers\\.0\\.mlp\\.gate_proj\\.weight",
                "model\\.layers\\.1\\.mlp\\.shared_experts\\.gate_proj\\.weight", ".*\\.gate_up_proj", "q_proj");
        assertThat(keys(written.get("alpha_pattern"))).containsExactly("model\\.layers\\.0\\.mlp\\.up_proj\\.weight",
                "model\\.layers\\.1\\.mlp\\.shared_experts\\.up_proj\\.weight", ".*\\.gate_up_proj");
        assertThat(written.get("rank_pattern").get(".*\\.gate_up_proj").asInt()).isEqualTo(6);
        assertThat(written.get("alpha_pattern").get(".*\\.gate_up_proj").asDouble()).isEqualTo(24.0);
        // PEFT takes the first key in file order: the file keeps this order (sorted, ".*" would come first)
        assertThat(text.indexOf("model\\\\.layers\\\\.0\\\\.mlp\\\\.up_proj")).isLessThan(text.indexOf(".*\\\\.gate_up"));
        assertThat(text.indexOf("\"alpha_pattern\"")).isLessThan(text.indexOf("\"rank_pattern\""));
        assertThat(c.plan().peftCheck().outcome()).isEqualTo(c.peft());
    }

    @Test
    void aQwen2MoeRouterLoraIsOnePeftRefusesAndFuseboxWritesAsTheRoutersParameter() throws Exception {
        OracleCase c = OracleCase.open("qwen2_moe", "router", tmp);
        AdapterPlan plan = c.plan();
        assertThat(plan.peftCheck().outcome()).isEqualTo(c.peft()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(c.row().get("peft_detail").asText()).contains("Qwen2MoeTopKRouter() is not supported");
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("TopKRouter() is not supported"));
        assertThat(strings(plan.config().get("target_parameters"))).containsExactly("gate_up_proj", "down_proj",
                "gate.weight");
        // qwen2_moe is not in PEFT's table: nothing is stripped, the shared expert stays a module
        assertThat(strings(plan.config().get("target_modules"))).containsExactlyInAnyOrder("gate_proj", "up_proj",
                "down_proj");
    }

    @Test
    void lagunasSharedExpertKeepsTheLegacyNameThatPeftRenamesOnLoad() throws Exception {
        OracleCase c = OracleCase.open("laguna", "experts", tmp);
        AdapterPlan plan = c.plan();
        assertThat(plan.plan().target("base_model.model.model.layers.1.mlp.shared_expert.gate_proj.lora_A.weight"))
                .isPresent();
        assertThat(plan.plan().target("base_model.model.model.layers.1.mlp.shared_experts.gate_proj.lora_A.weight"))
                .isEmpty();
        assertThat(plan.plan().warnings()).anyMatch(w -> w.startsWith("model.layers.1.mlp.shared_experts.gate_proj "
                + "keeps its legacy name"));
        // laguna is not in PEFT's table: gate_proj stays in target_modules, for the dense layer and the shared expert
        assertThat(strings(plan.config().get("target_modules"))).containsExactlyInAnyOrder("gate_proj", "up_proj",
                "down_proj");
        assertThat(plan.peftCheck().outcome()).isEqualTo(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
    }

    @Test
    void phimoesRouterLoraBecomesTheRenamedRoutersParameter() throws Exception {
        OracleCase c = OracleCase.open("phimoe", "router", tmp);
        AdapterPlan plan = c.plan();
        assertThat(strings(plan.config().get("target_parameters"))).containsExactly("gate_up_proj", "down_proj",
                "router.weight");
        assertThat(strings(plan.config().get("target_modules"))).isEmpty();
        assertThat(plan.plan().target("base_model.model.model.layers.0.mlp.router.lora_A.weight")).isPresent();
        assertThat(plan.peftCheck().outcome()).isEqualTo(c.peft()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("v5 renames to 'model.layers.0.mlp.router'"));
    }

    @Test
    void anAdapterWithOnlyAttentionLoraHasNothingToConvert() throws Exception {
        for (OracleCase c : List.of(OracleCase.open("mixtral", "attention", tmp),
                OracleCase.open("qwen2_moe", "lora_bias_attention", tmp))) {
            AdapterPlan plan = c.plan();
            assertThat(plan.peftCheck().outcome()).isEqualTo(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_EXACTLY);
            assertThat(plan.peftCheck().summary()).endsWith("nothing to convert.");
            assertThat(plan.nothingToConvert()).isTrue();
            assertThat(plan.plan().warnings()).anyMatch(w -> w.startsWith("Nothing to convert"));
            try (Checkpoint a = Checkpoint.open(c.adapter())) {
                assertThat(plan.plan().targets()).extracting(PlannedTarget::key)
                        .containsExactlyInAnyOrderElementsOf(a.tensors().keySet());
            }
        }
    }

    @Test
    void branchesOfDifferentScalesAreWidenedToFloat32RatherThanRoundedInBfloat16() throws Exception {
        OracleCase c = OracleCase.open("mixtral", "branch_scales_bfloat16", tmp);
        AdapterPlan plan = c.plan();
        PlannedTarget b = plan.plan().target("base_model.model.model.layers.0.mlp.experts.base_layer.lora_B.weight")
                .orElseThrow();
        assertThat(b.dtype()).isEqualTo(Dtype.F32);
        assertThat(plan.plan().target("base_model.model.model.layers.0.mlp.experts.lora_B.weight").orElseThrow()
                .dtype()).isEqualTo(Dtype.BF16);
        assertThat(plan.plan().warnings()).anyMatch(w -> w.contains("multiplied by 0.666667, which bfloat16 cannot hold exactly")
                && w.contains("written as float32"));
        assertThat(plan.peftCheck().outcome()).isEqualTo(c.peft());
    }

    @Test
    void doraOnExpertsIsRefusedWithWhatPeftWouldDo() throws Exception {
        OracleCase c = OracleCase.open("qwen3_moe", "dora_experts", tmp);
        assertThat(c.row().get("peft_detail").asText()).contains("does not work with use_dora=True");
        assertThatThrownBy(c::plan).isInstanceOfSatisfying(FuseboxException.class, e -> {
            assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
            assertThat(e.getMessage()).contains("cannot convert: use_dora is set; DoRA has no form on fused expert "
                    + "parameters").contains("PEFT check (refuses)")
                    .contains("\"lora.ParamWrapper does not work with use_dora=True.\"");
        });
    }

    @Test
    void aModuleTheFamilyRenamesIsTargetedUnderItsV5NameTooWhichPeftAloneLeavesOut() throws Exception {
        // axk2 renames self_attn.q_b_proj to self_attn.q_gate_proj: PEFT 0.21 renames the keys but keeps
        // target_modules, so q_gate_proj would get no LoRA (the converted adapter was off by 0.65 without it)
        OracleCase c = OracleCase.open("axk2", "all_linear", tmp);
        AdapterPlan plan = c.plan();
        assertThat(strings(plan.config().get("target_modules"))).contains("q_b_proj", "q_gate_proj")
                .doesNotContain("gate");
        assertThat(plan.plan().target("base_model.model.model.layers.0.self_attn.q_gate_proj.lora_A.weight"))
                .isPresent();
        assertThat(plan.peftCheck().outcome()).isEqualTo(c.peft()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.startsWith("v5 renames 2 modules the adapter targets "
                + "(model.layers.0.self_attn.q_gate_proj, model.layers.1.self_attn.q_gate_proj)"));
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
    }

    @Test
    void loraOnGranitemoesRenamedStackedParametersIsCopiedUnderTheNamesPeftGivesThemOnV5() throws Exception {
        // granitemoe's 4.x experts are stacked parameters; PEFT reaches them through target_parameters, whose names
        // (input_linear.weight) v5 renames to experts.gate_up_proj: PEFT alone drops that LoRA. Both are [E, out, in]
        // and PEFT 0.21 on 5.18 wraps experts once per parameter, gate_up_proj innermost (experts.base_layer)
        OracleCase c = OracleCase.open("granitemoe", "experts_attention", tmp);
        assertThat(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
        AdapterPlan plan = c.plan();
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThat(strings(plan.config().get("target_parameters"))).containsExactly("gate_up_proj", "down_proj");
        assertThat(strings(plan.config().get("target_modules"))).containsExactly("q_proj", "v_proj");
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        String layer = "base_model.model.model.layers.0.block_sparse_moe.";
        try (Checkpoint legacy = Checkpoint.open(c.adapter()); Checkpoint written = Checkpoint.open(v5)) {
            assertThat(written.tensors().keySet()).hasSameSizeAs(legacy.tensors().keySet())
                    .contains(layer + "experts.base_layer.lora_A.weight", layer + "experts.lora_B.weight")
                    .noneMatch(k -> k.contains("input_linear") || k.contains("output_linear"));
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
        assertThat(strings(AdapterFixtures.json(back.resolve("adapter_config.json")).get("target_parameters")))
                .containsExactly("input_linear.weight", "output_linear.weight");
    }

    @Test
    void aRouterLoraBesideGranitemoesStackedExpertsGoesOnTheV5RoutersWeightNamedInFull() throws Exception {
        // 4.x's router.layer is an nn.Linear [E, H]; v5's router is a TopKRouter holding weight [E, H], which PEFT
        // 0.21 wraps only through target_parameters, with the same [r, H] and [E, r] factors (a 2-D parameter)
        OracleCase c = OracleCase.open("granitemoe", "router", tmp);
        assertThat(c.peft()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(c.row().get("peft_detail").asText()).contains("Target modules {'layer'} not found");
        AdapterPlan plan = c.plan();
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("nor model.layers.0.block_sparse_moe.router"
                + ".layer, model.layers.1.block_sparse_moe.router.layer, which v5 renames too"));
        assertThat(strings(plan.config().get("target_modules"))).isEmpty();
        assertThat(strings(plan.config().get("target_parameters"))).containsExactly("gate_up_proj", "down_proj",
                "model.layers.0.block_sparse_moe.router.weight", "model.layers.1.block_sparse_moe.router.weight");
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        String layer = "base_model.model.model.layers.0.block_sparse_moe.";
        try (Checkpoint legacy = Checkpoint.open(c.adapter()); Checkpoint written = Checkpoint.open(v5)) {
            assertThat(written.tensors().keySet()).noneMatch(k -> k.contains("router.layer"));
            for (String factor : List.of("lora_A.weight", "lora_B.weight")) {
                assertThat(written.tensor(layer + "router." + factor).orElseThrow().data()
                        .toArray(ValueLayout.JAVA_BYTE)).isEqualTo(legacy.tensor(layer + "router.layer." + factor)
                        .orElseThrow().data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(v5, back, Optional.of(c.base()), Optional.empty(), Optional.empty());
        assertThat(Files.readAllBytes(back.resolve("adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(c.adapter().resolve("adapter_model.safetensors")));
        JsonNode config = AdapterFixtures.json(back.resolve("adapter_config.json"));
        assertThat(strings(config.get("target_parameters"))).containsExactly("input_linear.weight",
                "output_linear.weight");
        assertThat(strings(config.get("target_modules"))).containsExactly("model.layers.0.block_sparse_moe.router"
                + ".layer", "model.layers.1.block_sparse_moe.router.layer");
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
    }

    @Test
    void loraOnAriasStackedParametersHasItsFactorsSwappedAndTransposedForV5sIsTransposedExperts() throws Exception {
        // aria_text's 4.x fc1/fc2 and v5's gate_up_proj/down_proj are all [E, in, out] read as x @ W[e], but only
        // v5's experts say is_transposed: PEFT 0.21 makes A [E·r, out], B [in, r·E] with ΔW[e] = B_e·A_e of 4.x's,
        // and A' [E·r, in], B' [out, r·E] with ΔW[e] = A'_eᵀ·B'_eᵀ of v5's (tuners/lora/layer.py, ParamWrapper)
        OracleCase c = OracleCase.open("aria_text", "experts_attention", tmp);
        assertThat(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
        AdapterPlan plan = c.plan();
        assertThat(strings(plan.config().get("target_parameters")))
                .containsExactly("experts.gate_up_proj", "experts.down_proj");
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        String layer = "base_model.model.model.layers.0.mlp.experts.";
        int rank = 4;
        try (Checkpoint legacy = Checkpoint.open(c.adapter()); Checkpoint written = Checkpoint.open(v5)) {
            assertThat(written.tensors().keySet()).hasSameSizeAs(legacy.tensors().keySet())
                    .contains(layer + "base_layer.lora_A.weight", layer + "lora_B.weight")
                    .noneMatch(k -> k.contains("fc1") || k.contains("fc2"));
            for (String[] renamed : new String[][] {{"fc1.", "base_layer."}, {"fc2.", ""}}) {
                StoredTensor a = legacy.tensor(layer + renamed[0] + "lora_A.weight").orElseThrow();
                StoredTensor b = legacy.tensor(layer + renamed[0] + "lora_B.weight").orElseThrow();
                StoredTensor a5 = written.tensor(layer + renamed[1] + "lora_A.weight").orElseThrow();
                StoredTensor b5 = written.tensor(layer + renamed[1] + "lora_B.weight").orElseThrow();
                TransposedDeltas.assertSame(a, b, a5, b5, rank);
            }
        }
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(v5, back, Optional.of(c.base()), Optional.empty(), Optional.empty());
        assertThat(Files.readAllBytes(back.resolve("adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(c.adapter().resolve("adapter_model.safetensors")));
        assertThat(strings(AdapterFixtures.json(back.resolve("adapter_config.json")).get("target_parameters")))
                .containsExactly("experts.fc1.weight", "experts.fc2.weight");
    }

    @Test
    void anAriaRouterLoraIsOnePeftRefusesOnTheV5TopKRouterAndFuseboxPutsOnItsWeight() throws Exception {
        OracleCase c = OracleCase.open("aria_text", "router", tmp);
        assertThat(c.peft()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(c.row().get("peft_detail").asText()).contains("AriaTextTopKRouter() is not supported");
        AdapterPlan plan = c.plan();
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("Its LoRA on model.layers.0.mlp.router "
                + "targets a TopKRouter module on the v5 model"));
        assertThat(strings(plan.config().get("target_modules"))).isEmpty();
        assertThat(strings(plan.config().get("target_parameters"))).containsExactly("experts.gate_up_proj",
                "experts.down_proj", "model.layers.0.mlp.router.weight", "model.layers.1.mlp.router.weight");
        assertThat(plan.plan().target("base_model.model.model.layers.0.mlp.router.lora_A.weight")).isPresent();
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(v5, back, Optional.of(c.base()), Optional.empty(), Optional.empty());
        assertThat(Files.readAllBytes(back.resolve("adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(c.adapter().resolve("adapter_model.safetensors")));
        assertThat(strings(AdapterFixtures.json(back.resolve("adapter_config.json")).get("target_modules")))
                .containsExactly("model.layers.0.mlp.router", "model.layers.1.mlp.router");
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
    }

    @Test
    void aRouterLoraBesideRenamedStackedExpertsNamedByARegexIsRefusedWithWhatPeftWouldDo() throws Exception {
        // the same adapter with target_modules as a regex: which v5 module it should name instead Fusebox does not
        // rewrite, so it refuses, saying what PEFT alone does with it
        OracleCase c = OracleCase.open("aria_text", "router", tmp);
        Path regex = tmp.resolve("regex");
        Files.createDirectories(regex);
        Files.copy(c.adapter().resolve(Checkpoint.ADAPTER_WEIGHTS), regex.resolve(Checkpoint.ADAPTER_WEIGHTS));
        ObjectNode config = (ObjectNode) AdapterFixtures.json(c.adapter().resolve(Checkpoint.ADAPTER_CONFIG));
        config.put("target_modules", ".*\\.mlp\\.router");
        Files.writeString(regex.resolve(Checkpoint.ADAPTER_CONFIG), config.toString());
        assertThatThrownBy(() -> AdapterFixtures.plan(regex, Optional.of(c.base()), Optional.empty(),
                Optional.empty())).isInstanceOfSatisfying(FuseboxException.class, e -> assertThat(e.getMessage())
                .contains("the aria_text rules rename it to the stacked v5 parameter "
                        + "model.layers.0.mlp.experts.gate_up_proj").contains("nor a regex target_modules beside a "
                        + "router LoRA").contains("PEFT check (refuses)"));
    }

    @Test
    void anAdapterWhoseNamesOnlyV5HasConvertsBackToTheLegacyFileByteForByte() throws Exception {
        // nemotron_h's legacy modules are backbone.layers.N, v5's model.layers.N; attention only, no expert LoRA
        OracleCase c = OracleCase.open("nemotron_h", "attention", tmp);
        Path v5 = tmp.resolve("v5");
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        try (Checkpoint written = Checkpoint.open(v5)) {
            assertThat(written.tensors().keySet()).allMatch(k -> k.startsWith("base_model.model.model.layers."));
        }
        AdapterFixtures.convert(v5, back, Optional.of(c.base()), Optional.empty(), Optional.empty());
        assertThat(Files.readAllBytes(back.resolve("adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(c.adapter().resolve("adapter_model.safetensors")));
        assertThat(c.plan().peftCheck().outcome()).isEqualTo(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_EXACTLY);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static List<String> keys(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.properties().forEach(e -> out.add(e.getKey()));
        return out;
    }
}
