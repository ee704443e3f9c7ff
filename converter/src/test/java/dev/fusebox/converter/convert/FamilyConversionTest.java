package dev.fusebox.converter.convert;

import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static dev.fusebox.converter.convert.FamilyCase.mixtral;
import static dev.fusebox.converter.convert.FamilyCase.perExpert;
import static dev.fusebox.converter.convert.FamilyCase.qwen;
import static dev.fusebox.converter.convert.FamilyCase.shortConvolutions;
import static dev.fusebox.converter.convert.FamilyCase.stacked;
import static dev.fusebox.converter.convert.FamilyCase.ungated;
import static org.assertj.core.api.Assertions.assertThat;

/** Each family converts legacy → v5 to the keys transformers' table gives, fuses the right bytes, and converts back. */
class FamilyConversionTest {

    @TempDir
    Path dir;

    static Stream<FamilyCase> families() {
        String[][] none = {};
        Stream<FamilyCase> qwenTypes = Stream.of("qwen2_moe", "qwen3_moe", "olmoe", "flex_olmo", "deepseek_v2",
                "deepseek_v3", "deepseek_v32", "glm4_moe", "glm4_moe_lite", "glm_moe_dsa", "glm4v_moe", "dots1",
                "hunyuan_v1_moe", "afmoe", "solar_open", "mellum", "cohere2_moe", "longcat_flash", "qwen3_next",
                "qwen3_omni_moe", "qwen3_omni_moe_thinker", "kimi_k25", "qwen3_5_moe_text").map(t -> FamilyCase.of(t, qwen("mlp"), none));
        int e = FamilyCase.EXPERTS;
        int h = FamilyCase.H;
        int i = FamilyCase.I;
        Stream<FamilyCase> others = Stream.of(
                FamilyCase.of("mixtral", mixtral("gate"), none),
                FamilyCase.of("minimax", mixtral("gate"), none),
                FamilyCase.of("minimax_m2", mixtral("gate"), new String[][] {
                        {"block_sparse_moe.e_score_correction_bias", "mlp.e_score_correction_bias", "" + e}}),
                FamilyCase.of("phimoe", mixtral("router"), none),
                FamilyCase.of("ernie4_5_moe", qwen("mlp"), new String[][] {
                        {"mlp.moe_statics.e_score_correction_bias", "mlp.gate.moe_statics.e_score_correction_bias",
                                "1," + e}}),
                FamilyCase.of("exaone_moe", qwen("mlp"), new String[][] {
                        {"mlp.e_score_correction_bias", "mlp.gate.e_score_correction_bias", "" + e}}),
                FamilyCase.of("mimo_v2_flash", qwen("mlp"), new String[][] {
                        {"self_attn.attention_sink_bias", "self_attn.sinks", "4"}}),
                FamilyCase.of("hy_v3", qwen("mlp", false), new String[][] {
                        {"mlp.router.gate.weight", "mlp.gate.weight", e + "," + h},
                        {"mlp.expert_bias", "mlp.e_score_correction_bias", "" + e},
                        {"mlp.shared_mlp.up_proj.weight", "mlp.shared_experts.up_proj.weight", i + "," + h}}),
                FamilyCase.of("laguna", qwen("mlp", false), new String[][] {
                        {"mlp.gate.weight", "mlp.gate.weight", e + "," + h},
                        {"mlp.experts.e_score_correction_bias", "mlp.gate.e_score_correction_bias", "" + e},
                        {"mlp.shared_expert.gate_proj.weight", "mlp.shared_experts.gate_proj.weight", i + "," + h},
                        {"mlp.shared_expert.up_proj.weight", "mlp.shared_experts.up_proj.weight", i + "," + h}}),
                FamilyCase.of("axk1", qwen("mlp"), new String[][] {
                        {"post_mlp_layernorm.weight", "mlp.post_mlp_layernorm.weight", "" + h}}),
                FamilyCase.of("axk2", qwen("mlp"), new String[][] {
                        {"input_layernorm.W_down.weight", "input_layernorm.mlp.fc1.weight", "2," + h},
                        {"input_layernorm.W_up.weight", "input_layernorm.mlp.fc2.weight", h + ",2"},
                        {"self_attn.q_b_proj.weight", "self_attn.q_gate_proj.weight", h + "," + h}}),
                FamilyCase.of("jamba", qwen("feed_forward"), none),
                FamilyCase.of("lfm2_moe", perExpert("feed_forward", "w1", "w3", "w2"), new String[][] {
                        {"feed_forward.gate.weight", "feed_forward.gate.weight", e + "," + h}}),
                FamilyCase.of("nemotron_h", ungated("mixer"), new String[][] {
                        {"mixer.gate.weight", "mixer.gate.weight", e + "," + h},
                        {"mixer.shared_experts.up_proj.weight", "mixer.shared_experts.up_proj.weight", i + "," + h},
                        {"model.norm_f.weight", "model.norm_f.weight", "" + h}})
                        .withLegacyPrefix("model.", "backbone."),
                FamilyCase.of("kimi_linear", mixtral("gate").and(shortConvolutions()), new String[][] {
                        {"self_attn.f_a_proj.weight", "self_attn.forget_gate.f_a_proj.weight", "2," + h},
                        {"self_attn.f_b_proj.weight", "self_attn.forget_gate.f_b_proj.weight", h + ",2"},
                        {"self_attn.dt_bias", "self_attn.forget_gate.dt_bias", "" + h},
                        {"self_attn.A_log", "self_attn.forget_gate.A_log", "1,1,2,1"},
                        {"block_sparse_moe.shared_experts.up_proj.weight", "mlp.shared_experts.up_proj.weight",
                                i + "," + h}}),
                FamilyCase.of("aria_text", stacked(), new String[][] {
                        {"mlp.experts.fc1.weight", "mlp.experts.gate_up_proj", e + "," + h + "," + 2 * i},
                        {"mlp.experts.fc2.weight", "mlp.experts.down_proj", e + "," + i + "," + h},
                        {"mlp.router.weight", "mlp.router.weight", e + "," + h}}),
                FamilyCase.of("granitemoe", stacked(), new String[][] {
                        {"block_sparse_moe.input_linear.weight", "block_sparse_moe.experts.gate_up_proj",
                                e + "," + 2 * i + "," + h},
                        {"block_sparse_moe.output_linear.weight", "block_sparse_moe.experts.down_proj", e + "," + h + "," + i},
                        {"block_sparse_moe.router.layer.weight", "block_sparse_moe.router.weight", e + "," + h}}),
                FamilyCase.of("granitemoehybrid", stacked(), new String[][] {
                        {"block_sparse_moe.input_linear.weight", "block_sparse_moe.experts.gate_up_proj",
                                e + "," + 2 * i + "," + h},
                        {"block_sparse_moe.output_linear.weight", "block_sparse_moe.experts.down_proj", e + "," + h + "," + i},
                        {"block_sparse_moe.router.layer.weight", "block_sparse_moe.router.weight", e + "," + h}}),
                FamilyCase.of("granitemoeshared", stacked(), new String[][] {
                        {"block_sparse_moe.input_linear.weight", "block_sparse_moe.experts.gate_up_proj",
                                e + "," + 2 * i + "," + h},
                        {"block_sparse_moe.output_linear.weight", "block_sparse_moe.experts.down_proj", e + "," + h + "," + i},
                        {"shared_mlp.input_linear.weight", "shared_mlp.input_linear.weight", 2 * i + "," + h}}),
                FamilyCase.of("hy_v4", stacked(), new String[][] {
                        {"self_attn.linear_gate.weight", "self_attn.gate_proj.weight", "4," + h},
                        {"self_attn.learnable_sink_param", "self_attn.sinks", "4"},
                        {"hc_attn_layer.hc_fn", "attn_hc.fn", "6," + 4 * h},
                        {"hc_attn_layer.hc_base", "attn_hc.base", "6"},
                        {"hc_mlp_layer.hc_scale", "ffn_hc.scale", "2"},
                        {"model.hc_head.hc_head_fn", "model.hc_head.hc_fn", "4," + 4 * h},
                        {"model.hc_head.hc_head_scale", "model.hc_head.hc_scale", "1"},
                        {"mlp.experts.gate_up_proj", "mlp.experts.gate_up_proj", e + "," + 2 * i + "," + h},
                        {"mlp.shared_experts.gate_proj.weight", "mlp.shared_experts.gate_proj.weight", i + "," + h}}));
        return Stream.concat(others, qwenTypes);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void convertsToTheV5KeysAndBackByteForByte(FamilyCase family) throws Exception {
        Path legacy = TestCheckpoints.write(dir.resolve("legacy"), family.modelType(),
                Map.of("num_experts", FamilyCase.EXPERTS), family.legacy());
        Path v5 = dir.resolve("v5");
        Path back = dir.resolve("back");
        try (Checkpoint c = Checkpoint.open(legacy)) {
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
            ConversionPlan plan = Planner.plan(c, RuleBook.bundled(), Optional.empty());
            assertThat(plan.to()).isEqualTo(Layout.V5);
            assertThat(plan.targetSpecs()).containsExactlyInAnyOrderElementsOf(family.v5());
            PlanExecutor.execute(c, plan, v5, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        try (Checkpoint c = Checkpoint.open(v5)) {
            assertThat(c.layout()).isEqualTo(Layout.V5);
            assertThat(c.specs()).containsExactlyInAnyOrderElementsOf(family.v5());
            for (FamilyCase.Fused f : family.fused()) {
                assertThat(bytes(c, f.v5Key())).as(f.v5Key()).isEqualTo(concatenated(family, f));
            }
            for (TensorSpec t : family.v5()) {
                if (family.legacy().contains(t)) {
                    assertThat(bytes(c, t.key())).as(t.key()).isEqualTo(TestCheckpoints.bytes(t));
                }
            }
            ConversionPlan plan = Planner.plan(c, RuleBook.bundled(), Optional.empty());
            assertThat(plan.to()).isEqualTo(Layout.LEGACY);
            PlanExecutor.execute(c, plan, back, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        try (Checkpoint c = Checkpoint.open(back)) {
            assertThat(c.specs()).containsExactlyInAnyOrderElementsOf(family.legacy());
            for (TensorSpec t : family.legacy()) {
                assertThat(bytes(c, t.key())).as(t.key()).isEqualTo(TestCheckpoints.bytes(t));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void aV5CheckpointWrittenByHandConvertsToTheLegacyKeysWithEachExpertsSlice(FamilyCase family) throws Exception {
        Path v5 = TestCheckpoints.write(dir.resolve("v5"), family.modelType(), Map.of(), family.v5());
        Path legacy = dir.resolve("legacy");
        try (Checkpoint c = Checkpoint.open(v5)) {
            assertThat(c.layout()).isEqualTo(Layout.V5);
            ConversionPlan plan = Planner.plan(c, RuleBook.bundled(), Optional.empty());
            assertThat(plan.targetSpecs()).containsExactlyInAnyOrderElementsOf(family.legacy());
            PlanExecutor.execute(c, plan, legacy, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        try (Checkpoint c = Checkpoint.open(legacy)) {
            for (FamilyCase.Fused f : family.fused()) {
                TensorSpec fusedSpec = family.v5().stream().filter(s -> s.key().equals(f.v5Key())).findFirst().orElseThrow();
                byte[] fused = TestCheckpoints.bytes(fusedSpec);
                int offset = 0;
                for (List<String> expert : f.perExpert()) {
                    for (String key : expert) {
                        byte[] part = bytes(c, key);
                        assertThat(part).as(key).isEqualTo(java.util.Arrays.copyOfRange(fused, offset, offset + part.length));
                        offset += part.length;
                    }
                }
                assertThat(offset).isEqualTo(fused.length);
            }
        }
    }

    /**
     * qwen3_5_moe_text also reads the multimodal checkpoint's language model ({@code model.language_model.}), as
     * transformers does; converting back writes the text model's own names (the prefix is dropped one way).
     */
    @org.junit.jupiter.api.Test
    void qwen35MoeTextDropsTheMultimodalLanguageModelPrefix() throws Exception {
        FamilyCase text = FamilyCase.of("qwen3_5_moe_text", qwen("mlp"), new String[0][]);
        FamilyCase multimodal = text.withLegacyPrefix("model.", "model.language_model.");
        Path legacy = TestCheckpoints.write(dir.resolve("legacy"), "qwen3_5_moe_text", Map.of(), multimodal.legacy());
        Path v5 = dir.resolve("v5");
        try (Checkpoint c = Checkpoint.open(legacy)) {
            ConversionPlan plan = Planner.plan(c, RuleBook.bundled(), Optional.empty());
            assertThat(plan.targetSpecs()).containsExactlyInAnyOrderElementsOf(text.v5());
            PlanExecutor.execute(c, plan, v5, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        try (Checkpoint c = Checkpoint.open(v5)) {
            for (FamilyCase.Fused f : multimodal.fused()) {
                assertThat(bytes(c, f.v5Key())).as(f.v5Key()).isEqualTo(concatenated(multimodal, f));
            }
            assertThat(Planner.plan(c, RuleBook.bundled(), Optional.empty()).targetSpecs())
                    .containsExactlyInAnyOrderElementsOf(text.legacy());
        }
    }

    /** What docs/design.md §1 says a fused tensor holds: per expert, in numeric order, its sources one after another. */
    private static byte[] concatenated(FamilyCase family, FamilyCase.Fused f) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (List<String> expert : f.perExpert()) {
            for (String key : expert) {
                TensorSpec spec = family.legacy().stream().filter(s -> s.key().equals(key)).findFirst().orElseThrow();
                out.writeBytes(TestCheckpoints.bytes(spec));
            }
        }
        return out.toByteArray();
    }

    private static byte[] bytes(Checkpoint c, String key) throws Exception {
        StoredTensor t = c.tensor(key).orElseThrow();
        return t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }
}
