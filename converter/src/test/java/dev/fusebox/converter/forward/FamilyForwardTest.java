package dev.fusebox.converter.forward;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.convert.PlannedTensors;
import dev.fusebox.converter.convert.TemporaryConversion;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.TensorSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Qwen2-MoE, Qwen3-MoE, OLMoE, GLM-4-MoE, dots1, MiniMax-M2, ERNIE-4.5-MoE, Solar-Open, HunYuan-MoE,
 * DeepSeek-V2, DeepSeek-V3, DeepSeek-V3.2, GLM-4-MoE-Lite and GLM-MoE-DSA passes, on the legacy file transformers
 * 5.18 saved and on its v5 conversion read through the plan, bare and with the legacy adapter PEFT made (by hand as
 * PEFT saves it for the types transformers 4.57 lacks; converted by Fusebox for the v5 side), against what
 * transformers computed in float64 (FamilyReference).
 */
class FamilyForwardTest {

    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path temporary;

    static ForwardResult run(FamilyReference ref, Layout layout, int sequence) throws Exception {
        try (Checkpoint source = Checkpoint.open(ref.legacy(), RuleBook.bundled())) {
            assertThat(source.layout()).isEqualTo(Layout.LEGACY);
            if (layout == Layout.LEGACY) {
                try (TensorSource t = new CheckpointTensors(source)) {
                    return run(t, layout, source, Optional.empty(), ref, sequence);
                }
            }
            try (TensorSource t = new PlannedTensors(source, plan(source))) {
                return run(t, layout, source, Optional.empty(), ref, sequence);
            }
        }
    }

    private static ConversionPlan plan(Checkpoint source) throws Exception {
        ConversionPlan plan = Planner.plan(source, RuleBook.bundled(), Optional.empty());
        assertThat(plan.to()).isEqualTo(Layout.V5);
        return plan;
    }

    /**
     * The pass with the family's legacy adapter: on the legacy file, or on the v5 layout read through the plan with
     * the adapter Fusebox converts for it (as verify converts it, into a temporary folder).
     */
    private ForwardResult runWithAdapter(FamilyReference ref, Layout layout, int sequence) throws Exception {
        try (Checkpoint source = Checkpoint.open(ref.legacy(), RuleBook.bundled());
             Checkpoint adapter = Checkpoint.open(ref.legacyAdapter(), RuleBook.bundled())) {
            if (layout == Layout.LEGACY) {
                try (TensorSource t = new CheckpointTensors(source)) {
                    return run(t, layout, source, Optional.of(adapter), ref, sequence);
                }
            }
            ConversionPlan plan = plan(source);
            try (TensorSource t = new PlannedTensors(source, plan);
                 TemporaryConversion conversion = TemporaryConversion.adapter(temporary, adapter, source, plan.to(),
                         ProgressListener.NONE, Cancellation.NEVER).orElseThrow();
                 Checkpoint converted = Checkpoint.open(conversion.adapter(), RuleBook.bundled())) {
                assertThat(converted.specs()).as("the v5 adapter's keys").noneMatch(k -> k.key().contains(".experts.0."));
                return run(t, layout, source, Optional.of(converted), ref, sequence);
            }
        }
    }

    static ForwardResult run(TensorSource tensors, Layout layout, Checkpoint source,
                             Optional<Checkpoint> adapter, FamilyReference ref, int sequence)
            throws Exception {
        ModelWeights w = ModelWeights.open(tensors, layout, source.config().orElseThrow(), adapter);
        return new ForwardPass(w).run(ref.inputIds(sequence), w.dims().layers(), ProgressListener.NONE,
                Cancellation.NEVER);
    }

    static double maxAbsDiff(ForwardResult r, double[][] expected) {
        double max = 0;
        for (int p = 0; p < expected.length; p++) {
            float[] row = r.logits(p);
            assertThat(row).hasSize(expected[p].length);
            for (int v = 0; v < row.length; v++) {
                max = Math.max(max, Math.abs(row[v] - expected[p][v]));
            }
        }
        return max;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"qwen3_moe, LEGACY", "qwen3_moe, V5", "qwen2_moe, LEGACY", "qwen2_moe, V5", "olmoe, LEGACY",
            "olmoe, V5", "glm4_moe, LEGACY", "glm4_moe, V5", "dots1, LEGACY", "dots1, V5", "minimax_m2, LEGACY",
            "minimax_m2, V5", "ernie4_5_moe, LEGACY", "ernie4_5_moe, V5", "solar_open, LEGACY", "solar_open, V5",
            "hunyuan_v1_moe, LEGACY", "hunyuan_v1_moe, V5", "deepseek_v3, LEGACY", "deepseek_v3, V5",
            "glm4_moe_lite, LEGACY", "glm4_moe_lite, V5", "glm_moe_dsa, LEGACY", "glm_moe_dsa, V5",
            "deepseek_v2, LEGACY", "deepseek_v2, V5", "deepseek_v32, LEGACY", "deepseek_v32, V5"})
    void theLogitsMatchTheFloat64Reference(String type, Layout layout) throws Exception {
        FamilyReference ref = FamilyReference.of(type);
        for (int s = 0; s < ref.sequences(); s++) {
            assertThat(maxAbsDiff(run(ref, layout, s), ref.logits(s))).as("sequence %d", s).isLessThan(TOLERANCE);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"qwen3_moe, LEGACY", "qwen3_moe, V5", "qwen2_moe, LEGACY", "qwen2_moe, V5", "olmoe, LEGACY",
            "olmoe, V5", "glm4_moe, LEGACY", "glm4_moe, V5", "dots1, LEGACY", "dots1, V5", "minimax_m2, LEGACY",
            "minimax_m2, V5", "ernie4_5_moe, LEGACY", "ernie4_5_moe, V5", "solar_open, LEGACY", "solar_open, V5",
            "hunyuan_v1_moe, LEGACY", "hunyuan_v1_moe, V5", "deepseek_v3, LEGACY", "deepseek_v3, V5",
            "glm4_moe_lite, LEGACY", "glm4_moe_lite, V5", "glm_moe_dsa, LEGACY", "glm_moe_dsa, V5",
            "deepseek_v2, LEGACY", "deepseek_v2, V5", "deepseek_v32, LEGACY", "deepseek_v32, V5"})
    void anAdapterAppliedUnmergedMatchesTheFloat64MergedReference(String type, Layout layout) throws Exception {
        FamilyReference ref = FamilyReference.of(type);
        for (int s = 0; s < ref.sequences(); s++) {
            ForwardResult r = runWithAdapter(ref, layout, s);
            assertThat(maxAbsDiff(r, ref.logits("adapter", s))).as("sequence %d", s).isLessThan(TOLERANCE);
            assertThat(maxAbsDiff(r, ref.logits("base", s))).as("the adapter's effect").isGreaterThan(1.0);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"qwen3_moe, LEGACY", "qwen3_moe, V5", "qwen2_moe, LEGACY", "qwen2_moe, V5", "olmoe, LEGACY",
            "olmoe, V5", "glm4_moe, LEGACY", "glm4_moe, V5", "dots1, LEGACY", "dots1, V5", "minimax_m2, LEGACY",
            "minimax_m2, V5", "ernie4_5_moe, LEGACY", "ernie4_5_moe, V5", "solar_open, LEGACY", "solar_open, V5",
            "hunyuan_v1_moe, LEGACY", "hunyuan_v1_moe, V5", "deepseek_v3, LEGACY", "deepseek_v3, V5",
            "glm4_moe_lite, LEGACY", "glm4_moe_lite, V5", "glm_moe_dsa, LEGACY", "glm_moe_dsa, V5",
            "deepseek_v2, LEGACY", "deepseek_v2, V5", "deepseek_v32, LEGACY", "deepseek_v32, V5"})
    void theHiddenStatesMatchWhatTransformersReports(String type, Layout layout) throws Exception {
        FamilyReference ref = FamilyReference.of(type);
        for (int s = 0; s < ref.sequences(); s++) {
            ForwardResult r = run(ref, layout, s);
            List<double[][]> reference = ref.hiddenStates(s);
            int layers = r.layersRun();
            assertThat(reference).hasSize(layers + 1);
            for (int i = 0; i < reference.size(); i++) {
                for (int p = 0; p < r.positions(); p++) {
                    float[] ours = i < layers ? r.hidden(i, p)
                            : Arrays.copyOfRange(r.normed(), p * r.hiddenSize(), (p + 1) * r.hiddenSize());
                    for (int c = 0; c < ours.length; c++) {
                        assertThat(Math.abs(ours[c] - reference.get(i)[p][c]))
                                .as("state %d, position %d, channel %d", i, p, c).isLessThan(TOLERANCE);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qwen3_moe", "qwen2_moe", "olmoe", "glm4_moe", "dots1", "minimax_m2", "ernie4_5_moe",
            "solar_open", "hunyuan_v1_moe", "deepseek_v3", "glm4_moe_lite", "glm_moe_dsa", "deepseek_v2",
            "deepseek_v32"})
    void theLegacyAndV5ViewsComputeBitIdenticalLogits(String type) throws Exception {
        FamilyReference ref = FamilyReference.of(type);
        assertThat(run(ref, Layout.V5, 0).logits()).containsExactly(run(ref, Layout.LEGACY, 0).logits());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qwen3_moe", "qwen2_moe", "olmoe", "glm4_moe", "dots1", "minimax_m2", "ernie4_5_moe",
            "solar_open", "hunyuan_v1_moe", "deepseek_v3", "glm4_moe_lite", "glm_moe_dsa", "deepseek_v2",
            "deepseek_v32"})
    void verifyRunsTheForwardPassAndTheExpertCheckAndPasses(String type) throws Exception {
        FamilyReference ref = FamilyReference.of(type);
        VerificationReport r = new Verifier().verify(VerificationRequest.throughPlan(ref.legacy(), Optional.empty())
                .withRules(RuleBook.bundled()), ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.failures()).isEmpty();
        assertThat(r.passed()).isTrue();
        assertThat(r.forwardPass()).isTrue();
        assertThat(r.experts().experts()).isNotEmpty();
        assertThat(r.checks()).isEqualTo("forward pass and expert check");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qwen3_moe", "qwen2_moe", "olmoe", "glm4_moe", "dots1", "minimax_m2", "ernie4_5_moe",
            "solar_open", "hunyuan_v1_moe", "deepseek_v3", "glm4_moe_lite", "glm_moe_dsa", "deepseek_v2",
            "deepseek_v32"})
    void verifyWithTheAdapterConvertsItAndPasses(String type) throws Exception {
        FamilyReference ref = FamilyReference.of(type);
        VerificationReport r = new Verifier().verify(VerificationRequest.throughPlan(ref.legacy(),
                        Optional.of(ref.legacyAdapter())).withRules(RuleBook.bundled()).withTemporaryFolder(temporary),
                ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.failures()).isEmpty();
        assertThat(r.passed()).isTrue();
        assertThat(r.forwardPass()).isTrue();
        assertThat(r.converted().adapter()).isPresent();
    }

    @Test
    void aConvertedAdapterThatLostTheSharedExpertsLoraFailsVerifyFromLayer0() throws Exception {
        FamilyReference ref = FamilyReference.of("qwen2_moe");
        Path lost;
        try (Checkpoint source = Checkpoint.open(ref.legacy(), RuleBook.bundled());
             Checkpoint adapter = Checkpoint.open(ref.legacyAdapter(), RuleBook.bundled());
             TemporaryConversion conversion = TemporaryConversion.adapter(temporary, adapter, source, Layout.V5,
                     ProgressListener.NONE, Cancellation.NEVER).orElseThrow()) {
            lost = AdapterWithout.write(conversion.adapter(), ".shared_expert.", temporary.resolve("lost"));
        }
        VerificationReport r = new Verifier().verify(VerificationRequest.throughPlan(ref.legacy(),
                        Optional.of(ref.legacyAdapter())).withConvertedAdapter(Optional.of(lost))
                .withRules(RuleBook.bundled()), ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.passed()).isFalse();
        assertThat(r.failures()).anyMatch(f -> f.startsWith("hidden states after layer 0 differ"));
    }
}
