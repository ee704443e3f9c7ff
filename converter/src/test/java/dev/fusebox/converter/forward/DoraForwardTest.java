package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
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

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A DoRA adapter on qwen3_moe's attention (q/k/v/o_proj, magnitudes away from their initial norms), applied by the
 * forward pass as PEFT 0.21 applies it: each output row {@code m / ‖W + s·BA‖ · (W x + s·B A x)}, the norm over the
 * row. The truth is PEFT's own unmerged forward pass over transformers 5.18 in float64 (dora-reference.json, made by
 * tools/reference-forward.py --dora).
 */
class DoraForwardTest {

    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path temporary;

    private static ForwardResult run(TensorSource tensors, Layout layout, Checkpoint source, Checkpoint adapter,
                                     FamilyReference ref, int sequence) throws Exception {
        return FamilyForwardTest.run(tensors, layout, source, Optional.of(adapter), ref, sequence);
    }

    private static double maxAbsDiff(ForwardResult r, double[][] expected) {
        return FamilyForwardTest.maxAbsDiff(r, expected);
    }

    @Test
    void theLegacyPassWithDoraMatchesPeftsOwnForwardPass() throws Exception {
        FamilyReference ref = FamilyReference.of("qwen3_moe");
        try (Checkpoint source = Checkpoint.open(ref.legacy(), RuleBook.bundled());
             Checkpoint adapter = Checkpoint.open(ref.doraAdapter(), RuleBook.bundled());
             TensorSource t = new CheckpointTensors(source)) {
            for (int s = 0; s < ref.sequences(); s++) {
                ForwardResult r = run(t, Layout.LEGACY, source, adapter, ref, s);
                assertThat(maxAbsDiff(r, ref.doraLogits(s))).as("sequence %d", s).isLessThan(TOLERANCE);
                assertThat(maxAbsDiff(r, ref.logits("base", s))).as("the adapter's effect").isGreaterThan(1.0);
            }
        }
    }

    @Test
    void theV5PassThroughThePlanWithTheSameAdapterMatchesToo() throws Exception {
        // Attention keeps its keys in both layouts, so the adapter needs no conversion (verify uses it as it is).
        FamilyReference ref = FamilyReference.of("qwen3_moe");
        try (Checkpoint source = Checkpoint.open(ref.legacy(), RuleBook.bundled());
             Checkpoint adapter = Checkpoint.open(ref.doraAdapter(), RuleBook.bundled())) {
            ConversionPlan plan = Planner.plan(source, RuleBook.bundled(), Optional.empty());
            assertThat(TemporaryConversion.adapter(temporary, adapter, source, plan.to(), ProgressListener.NONE,
                    Cancellation.NEVER)).isEmpty();
            try (TensorSource t = new PlannedTensors(source, plan)) {
                for (int s = 0; s < ref.sequences(); s++) {
                    ForwardResult r = run(t, Layout.V5, source, adapter, ref, s);
                    assertThat(maxAbsDiff(r, ref.doraLogits(s))).as("sequence %d", s).isLessThan(TOLERANCE);
                }
            }
        }
    }

    @Test
    void theSameFactorsAsPlainLoraGiveOtherLogits() throws Exception {
        // What the test above tells apart: the adapter without its magnitudes and use_dora is plain LoRA.
        FamilyReference ref = FamilyReference.of("qwen3_moe");
        Path plain = AdapterWithout.write(ref.doraAdapter(), "lora_magnitude_vector", temporary.resolve("plain"));
        Path config = plain.resolve("adapter_config.json");
        Files.writeString(config, Files.readString(config).replace("\"use_dora\": true", "\"use_dora\": false"));
        try (Checkpoint source = Checkpoint.open(ref.legacy(), RuleBook.bundled());
             Checkpoint adapter = Checkpoint.open(plain, RuleBook.bundled());
             TensorSource t = new CheckpointTensors(source)) {
            assertThat(maxAbsDiff(run(t, Layout.LEGACY, source, adapter, ref, 0), ref.doraLogits(0)))
                    .isGreaterThan(0.1);
        }
    }

    @Test
    void aDoraAdapterWithoutAMagnitudeIsRefusedNamingIt() throws Exception {
        FamilyReference ref = FamilyReference.of("qwen3_moe");
        Path lost = AdapterWithout.write(ref.doraAdapter(), "layers.1.self_attn.v_proj.lora_magnitude_vector",
                temporary.resolve("lost"));
        try (Checkpoint source = Checkpoint.open(ref.legacy(), RuleBook.bundled());
             Checkpoint adapter = Checkpoint.open(lost, RuleBook.bundled())) {
            assertThatThrownBy(() -> ModelWeights.open(source, source.config().orElseThrow(), Optional.of(adapter)))
                    .isInstanceOf(FuseboxException.class)
                    .hasMessageContaining("model.layers.1.self_attn.v_proj.lora_magnitude_vector")
                    .hasMessageContaining("sets use_dora");
        }
    }

    @Test
    void verifyWithTheDoraAdapterRunsTheForwardPassAndPasses() throws Exception {
        FamilyReference ref = FamilyReference.of("qwen3_moe");
        VerificationReport r = new Verifier().verify(VerificationRequest.throughPlan(ref.legacy(),
                        Optional.of(ref.doraAdapter())).withRules(RuleBook.bundled()).withTemporaryFolder(temporary),
                ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.failures()).isEmpty();
        assertThat(r.passed()).isTrue();
        assertThat(r.forwardPass()).isTrue();
        assertThat(r.converted().adapter()).isPresent();
    }
}
