package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.lora.AdapterPlanner;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.fusebox.converter.TestCheckpoints.f32;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * ernie4_5_vl_moe, as transformers 5.18's table gives it: a legacy (Baidu / transformers-save) checkpoint holds one
 * expert list per MoE layer, the text experts first and the vision experts after them, each half with its own
 * width; v5 stacks each half into {@code text_moe.experts} / {@code vision_moe.experts}. The two routers are stored
 * transposed, the correction bias as one [2, E] tensor, and the language model, vision tower and resampler under
 * other names. The expected keys and bytes here are written out by hand, independently of the rule file.
 */
class ErnieVlMoeConversionTest {

    private static final int E = 3;
    private static final int H = 8;
    private static final int TEXT_I = 6;
    private static final int VISION_I = 4;
    private static final String LEGACY_MOE = "model.layers.1.mlp.";
    private static final String V5_MOE = "model.language_model.layers.1.mlp.";

    @TempDir
    Path dir;

    /** Legacy key → v5 key of every tensor that is only renamed, with its shape. */
    private static Map<String, Object[]> renamed() {
        Map<String, Object[]> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", new Object[] {"model.language_model.embed_tokens.weight", new long[] {32, H}});
        m.put("model.norm.weight", new Object[] {"model.language_model.norm.weight", new long[] {H}});
        m.put("lm_head.weight", new Object[] {"lm_head.weight", new long[] {32, H}});
        for (int l = 0; l < 2; l++) {
            String p = "model.layers." + l + ".";
            String q = "model.language_model.layers." + l + ".";
            m.put(p + "self_attn.q_proj.weight", new Object[] {q + "self_attn.q_proj.weight", new long[] {H, H}});
            m.put(p + "input_layernorm.weight", new Object[] {q + "input_layernorm.weight", new long[] {H}});
            m.put(p + "post_attention_layernorm.weight", new Object[] {q + "post_attention_layernorm.weight",
                    new long[] {H}});
        }
        m.put("model.layers.0.mlp.gate_proj.weight", new Object[] {"model.language_model.layers.0.mlp.gate_proj.weight",
                new long[] {12, H}});
        m.put(LEGACY_MOE + "shared_experts.gate_proj.weight", new Object[] {V5_MOE + "shared_experts.gate_proj.weight",
                new long[] {TEXT_I, H}});
        m.put("model.vision_model.blocks.0.norm1.weight", new Object[] {"model.vision_tower.blocks.0.norm1.weight",
                new long[] {4}});
        m.put("model.vision_model.ln.weight", new Object[] {"model.vision_tower.ln.weight", new long[] {4}});
        for (String mlp : List.of("spatial_linear", "temporal_linear")) {
            String p = "model.resampler_model." + mlp + ".";
            m.put(p + "0.weight", new Object[] {p + "fc1.weight", new long[] {16, 16}});
            m.put(p + "2.weight", new Object[] {p + "fc2.weight", new long[] {16, 16}});
            m.put(p + "3.weight", new Object[] {p + "ln.weight", new long[] {16}});
        }
        m.put("model.resampler_model.after_norm.weight", new Object[] {"model.resampler_model.after_norm.weight",
                new long[] {H}});
        return m;
    }

    private static String expert(int e, String proj) {
        return LEGACY_MOE + "experts." + e + "." + proj + ".weight";
    }

    /** A legacy checkpoint whose MoE layer holds {@code experts} experts, the first half text, the rest vision. */
    static List<TensorSpec> legacy(int experts) {
        List<TensorSpec> out = new ArrayList<>();
        renamed().forEach((k, v) -> out.add(f32(k, (long[]) v[1])));
        out.add(f32(LEGACY_MOE + "gate.weight", H, E));
        out.add(f32(LEGACY_MOE + "gate.weight_1", H, E));
        out.add(f32(LEGACY_MOE + "moe_statics.e_score_correction_bias", 2, E));
        for (int e = 0; e < experts; e++) {
            int i = e < experts / 2 ? TEXT_I : VISION_I;
            out.add(f32(expert(e, "gate_proj"), i, H));
            out.add(f32(expert(e, "up_proj"), i, H));
            out.add(f32(expert(e, "down_proj"), H, i));
        }
        return out;
    }

    private static List<TensorSpec> v5() {
        List<TensorSpec> out = new ArrayList<>();
        renamed().forEach((k, v) -> out.add(f32((String) v[0], (long[]) v[1])));
        for (String moe : List.of("text_moe", "vision_moe")) {
            int i = moe.equals("text_moe") ? TEXT_I : VISION_I;
            out.add(f32(V5_MOE + moe + ".gate.weight", E, H));
            out.add(f32(V5_MOE + moe + ".gate.moe_statics.e_score_correction_bias", 1, E));
            out.add(f32(V5_MOE + moe + ".experts.gate_up_proj", E, 2L * i, H));
            out.add(f32(V5_MOE + moe + ".experts.down_proj", E, H, i));
        }
        return out;
    }

    private static TensorSpec spec(List<TensorSpec> specs, String key) {
        return specs.stream().filter(s -> s.key().equals(key)).findFirst().orElseThrow();
    }

    /** The bytes of the given legacy tensors one after another. */
    private static byte[] joined(List<TensorSpec> legacy, List<String> keys) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        keys.forEach(k -> out.writeBytes(TestCheckpoints.bytes(spec(legacy, k))));
        return out.toByteArray();
    }

    /** Experts {@code from} … {@code from + E - 1}: per expert its gate then its up (or only its down). */
    private static List<String> experts(int from, String... projs) {
        List<String> keys = new ArrayList<>();
        for (int e = from; e < from + E; e++) {
            for (String p : projs) {
                keys.add(expert(e, p));
            }
        }
        return keys;
    }

    /** A float32 [rows, cols] tensor's bytes as [cols, rows], element by element. */
    private static byte[] transposed(byte[] in, int rows, int cols) {
        byte[] out = new byte[in.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                System.arraycopy(in, (r * cols + c) * 4, out, (c * rows + r) * 4, 4);
            }
        }
        return out;
    }

    private static byte[] bytes(Checkpoint c, String key) throws Exception {
        return c.tensor(key).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE);
    }

    private static void convert(Path from, Path to, int targets) throws Exception {
        try (Checkpoint c = Checkpoint.open(from)) {
            ConversionPlan plan = Planner.plan(c, RuleBook.bundled(), Optional.empty());
            assertThat(plan.targets()).hasSize(targets);
            PlanExecutor.execute(c, plan, to, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
    }

    @Test
    void theTextHalfAndTheVisionHalfOfTheExpertListBecomeTheirOwnStackedExpertsAndConvertBackByteForByte()
            throws Exception {
        List<TensorSpec> legacy = legacy(2 * E);
        Path in = TestCheckpoints.write(dir.resolve("legacy"), "ernie4_5_vl_moe", Map.of(), legacy);
        try (Checkpoint c = Checkpoint.open(in)) {
            ConversionPlan plan = Planner.plan(c, RuleBook.bundled(), Optional.empty());
            assertThat(plan.from()).isEqualTo(Layout.LEGACY);
            assertThat(plan.targetSpecs()).containsExactlyInAnyOrderElementsOf(v5());
        }
        convert(in, dir.resolve("v5"), v5().size());
        try (Checkpoint c = Checkpoint.open(dir.resolve("v5"))) {
            assertThat(c.layout()).isEqualTo(Layout.V5);
            assertThat(bytes(c, V5_MOE + "text_moe.experts.gate_up_proj"))
                    .isEqualTo(joined(legacy, experts(0, "gate_proj", "up_proj")));
            assertThat(bytes(c, V5_MOE + "vision_moe.experts.gate_up_proj"))
                    .isEqualTo(joined(legacy, experts(E, "gate_proj", "up_proj")));
            assertThat(bytes(c, V5_MOE + "text_moe.experts.down_proj")).isEqualTo(joined(legacy, experts(0, "down_proj")));
            assertThat(bytes(c, V5_MOE + "vision_moe.experts.down_proj")).isEqualTo(joined(legacy, experts(E, "down_proj")));
            assertThat(bytes(c, V5_MOE + "text_moe.gate.weight")).isEqualTo(
                    transposed(TestCheckpoints.bytes(spec(legacy, LEGACY_MOE + "gate.weight")), H, E));
            assertThat(bytes(c, V5_MOE + "vision_moe.gate.weight")).isEqualTo(
                    transposed(TestCheckpoints.bytes(spec(legacy, LEGACY_MOE + "gate.weight_1")), H, E));
            byte[] bias = TestCheckpoints.bytes(spec(legacy, LEGACY_MOE + "moe_statics.e_score_correction_bias"));
            assertThat(bytes(c, V5_MOE + "text_moe.gate.moe_statics.e_score_correction_bias"))
                    .isEqualTo(Arrays.copyOfRange(bias, 0, 4 * E));
            assertThat(bytes(c, V5_MOE + "vision_moe.gate.moe_statics.e_score_correction_bias"))
                    .isEqualTo(Arrays.copyOfRange(bias, 4 * E, 8 * E));
            for (Map.Entry<String, Object[]> r : renamed().entrySet()) {
                assertThat(bytes(c, (String) r.getValue()[0])).as(r.getKey())
                        .isEqualTo(TestCheckpoints.bytes(spec(legacy, r.getKey())));
            }
        }
        convert(dir.resolve("v5"), dir.resolve("back"), legacy.size());
        try (Checkpoint c = Checkpoint.open(dir.resolve("back"))) {
            assertThat(c.specs()).containsExactlyInAnyOrderElementsOf(legacy);
            for (TensorSpec t : legacy) {
                assertThat(bytes(c, t.key())).as(t.key()).isEqualTo(TestCheckpoints.bytes(t));
            }
        }
    }

    @Test
    void aV5CheckpointWrittenByHandGivesTheTextExpertsFirstThenTheVisionOnesRenumbered() throws Exception {
        List<TensorSpec> v5 = v5();
        Path in = TestCheckpoints.write(dir.resolve("v5"), "ernie4_5_vl_moe", Map.of(), v5);
        convert(in, dir.resolve("legacy"), legacy(2 * E).size());
        try (Checkpoint c = Checkpoint.open(dir.resolve("legacy"))) {
            assertThat(c.specs()).containsExactlyInAnyOrderElementsOf(legacy(2 * E));
            for (String moe : List.of("text_moe", "vision_moe")) {
                int first = moe.equals("text_moe") ? 0 : E;
                assertThat(joined(c, experts(first, "gate_proj", "up_proj")))
                        .isEqualTo(TestCheckpoints.bytes(spec(v5, V5_MOE + moe + ".experts.gate_up_proj")));
                assertThat(joined(c, experts(first, "down_proj")))
                        .isEqualTo(TestCheckpoints.bytes(spec(v5, V5_MOE + moe + ".experts.down_proj")));
            }
            ByteArrayOutputStream bias = new ByteArrayOutputStream();
            for (String moe : List.of("text_moe", "vision_moe")) {
                bias.writeBytes(TestCheckpoints.bytes(spec(v5, V5_MOE + moe + ".gate.moe_statics.e_score_correction_bias")));
            }
            assertThat(bytes(c, LEGACY_MOE + "moe_statics.e_score_correction_bias")).isEqualTo(bias.toByteArray());
            assertThat(bytes(c, LEGACY_MOE + "gate.weight_1")).isEqualTo(
                    transposed(TestCheckpoints.bytes(spec(v5, V5_MOE + "vision_moe.gate.weight")), E, H));
        }
    }

    private static byte[] joined(Checkpoint c, List<String> keys) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String k : keys) {
            out.writeBytes(bytes(c, k));
        }
        return out.toByteArray();
    }

    /** transformers cuts ceil(5 / 2) = 3 experts for text and 2 for vision, which its model cannot hold. */
    @Test
    void anExpertListThatDoesNotSplitIntoTwoEqualHalvesIsRefused() throws Exception {
        List<TensorSpec> odd = legacy(2 * E).stream().filter(t -> !t.key().contains(".experts." + (2 * E - 1) + "."))
                .toList();
        Path in = TestCheckpoints.write(dir.resolve("odd"), "ernie4_5_vl_moe", Map.of(), odd);
        try (Checkpoint c = Checkpoint.open(in)) {
            assertThatThrownBy(() -> Planner.plan(c, RuleBook.bundled(), Optional.empty()))
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.RAGGED_SHAPES))
                    .hasMessageContaining("splits 5 experts into 2 equal groups, one per target, and 5 does not "
                            + "divide by 2 (transformers would give the groups 3 + 2 experts)");
        }
    }

    /** config.json counts each half's experts: 3 declared, so a list of 6 converts and a seventh expert is extra. */
    @Test
    void aDeclaredExpertCountIsEachHalfs() throws Exception {
        Path in = TestCheckpoints.write(dir.resolve("six"), "ernie4_5_vl_moe", Map.of("num_experts", E), legacy(2 * E));
        try (Checkpoint c = Checkpoint.open(in)) {
            assertThat(Planner.plan(c, RuleBook.bundled(), Optional.empty()).targetSpecs())
                    .containsExactlyInAnyOrderElementsOf(v5());
        }
        List<TensorSpec> eight = legacy(2 * E + 2);
        Path more = TestCheckpoints.write(dir.resolve("eight"), "ernie4_5_vl_moe", Map.of("num_experts", E), eight);
        try (Checkpoint c = Checkpoint.open(more)) {
            assertThatThrownBy(() -> Planner.plan(c, RuleBook.bundled(), Optional.empty()))
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.EXTRA_EXPERT))
                    .hasMessageContaining("it is expert 7, but config.json declares 3 experts in each of 2 groups");
        }
    }

    /** Text and vision stacks of different lengths could not be split apart again after joining. */
    @Test
    void v5ExpertStacksOfDifferentLengthsAreRefused() throws Exception {
        List<TensorSpec> v5 = v5().stream().map(t -> t.key().equals(V5_MOE + "vision_moe.experts.down_proj")
                ? f32(t.key(), E - 1, H, VISION_I) : t).toList();
        Path in = TestCheckpoints.write(dir.resolve("v5"), "ernie4_5_vl_moe", Map.of(), v5);
        try (Checkpoint c = Checkpoint.open(in)) {
            assertThatThrownBy(() -> Planner.plan(c, RuleBook.bundled(), Optional.empty()))
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.RAGGED_SHAPES))
                    .hasMessageContaining("it holds 2 experts but '" + V5_MOE + "text_moe.experts.down_proj' holds 3")
                    .hasMessageContaining("joins groups of one size only");
        }
    }

    /** A LoRA on one expert's gate_proj would land in one of two fused tensors: refused with the rule named. */
    @Test
    void aLoraAdapterOnTheSplitExpertsIsRefusedNamingTheRule() throws Exception {
        Path base = TestCheckpoints.write(dir.resolve("base"), "ernie4_5_vl_moe", Map.of(), legacy(2 * E));
        Path adapter = Files.createDirectories(dir.resolve("adapter"));
        Files.writeString(adapter.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 2, "
                + "\"lora_alpha\": 4, \"target_modules\": [\"gate_proj\"], \"lora_dropout\": 0.0}");
        String module = "base_model.model." + LEGACY_MOE + "experts.0.gate_proj.";
        TestCheckpoints.writeSafetensors(adapter.resolve("adapter_model.safetensors"),
                List.of(f32(module + "lora_A.weight", 2, H), f32(module + "lora_B.weight", TEXT_I, 2)));
        try (Checkpoint c = Checkpoint.open(adapter)) {
            assertThatThrownBy(() -> AdapterPlanner.plan(c, Optional.of(base), RuleBook.bundled(), Optional.empty(),
                    Optional.empty()))
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED))
                    .hasMessageContaining("[split_experts, stack(dim=0), concat(dim=1)] is not one whose LoRA factors "
                            + "Fusebox can carry");
        }
    }
}
