package dev.fusebox.converter.forward;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Both weight views against what transformers 5.17 computed in float64 (reference-forward.json). */
class MixtralForwardTest {

    private static final double TOLERANCE = 1e-4;

    static ForwardResult run(String model, Optional<String> adapter, int sequence) throws Exception {
        return run(model, adapter, ReferenceForward.inputIds(sequence));
    }

    static ForwardResult run(String model, Optional<String> adapter, int[] tokens) throws Exception {
        ModelConfig config = ModelConfig.read(Fixtures.tiny("legacy-base").resolve("config.json"));
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny(model));
             Checkpoint a = adapter.isPresent() ? Checkpoint.open(Fixtures.tiny(adapter.get())) : null) {
            ModelWeights w = ModelWeights.open(c, config, Optional.ofNullable(a));
            return new ForwardPass(w).run(tokens, w.dims().layers(),
                    ProgressListener.NONE, Cancellation.NEVER);
        }
    }

    static double maxAbsDiff(ForwardResult r, double[][] reference) {
        double max = 0;
        for (int p = 0; p < reference.length; p++) {
            float[] row = r.logits(p);
            for (int v = 0; v < row.length; v++) {
                max = Math.max(max, Math.abs(row[v] - reference[p][v]));
            }
        }
        return max;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"legacy-base", "v5-base.float32.safetensors"})
    void theBaseLogitsMatchTheFloat64Reference(String model) throws Exception {
        for (int s = 0; s < ReferenceForward.sequences(); s++) {
            ForwardResult r = run(model, Optional.empty(), s);
            assertThat(maxAbsDiff(r, ReferenceForward.logits("base", s))).isLessThan(TOLERANCE);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"legacy-base", "v5-base.float32.safetensors"})
    void theHiddenStatesMatchWhatTransformersReports(String model) throws Exception {
        for (int s = 0; s < ReferenceForward.sequences(); s++) {
            ForwardResult r = run(model, Optional.empty(), s);
            List<double[][]> reference = ReferenceForward.hiddenStates(s);
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
    @ValueSource(strings = {"legacy-base", "v5-base.float32.safetensors"})
    void theRouterLogitsAndChoicesMatch(String model) throws Exception {
        for (int s = 0; s < ReferenceForward.sequences(); s++) {
            ForwardResult r = run(model, Optional.empty(), s);
            for (RouterOutput router : r.routers()) {
                double[][] reference = ReferenceForward.routerLogits(s, router.layer());
                for (int p = 0; p < r.positions(); p++) {
                    float[] ours = router.logits(p);
                    for (int e = 0; e < ours.length; e++) {
                        assertThat(Math.abs(ours[e] - reference[p][e])).isLessThan(TOLERANCE);
                    }
                    assertThat(router.chosenSet(p)).as("layer %d position %d", router.layer(), p)
                            .containsExactly(topTwo(reference[p]));
                }
            }
        }
    }

    @ParameterizedTest(name = "{1} on {0}")
    @CsvSource({
            "legacy-base, legacy-lora-attn_experts, lora_attn_experts",
            "legacy-base, legacy-lora-attn_experts_rslora, lora_attn_experts_rslora",
            "legacy-base, legacy-lora-experts_gate, lora_experts_gate",
            "legacy-base, legacy-lora-experts_gate_rslora, lora_experts_gate_rslora",
            "v5-base.float32.safetensors, peft-saved-attn_experts, lora_attn_experts",
            "v5-base.float32.safetensors, peft-saved-experts_gate, lora_experts_gate",
            "v5-base.float32.safetensors, peft-saved-attn_experts_rslora-alpha-fixed, lora_attn_experts_rslora",
            "v5-base.float32.safetensors, peft-saved-experts_gate_rslora-alpha-fixed, lora_experts_gate_rslora"})
    void anAdapterAppliedUnmergedMatchesTheMergedReference(String model, String adapter, String entry)
            throws Exception {
        for (int s = 0; s < ReferenceForward.sequences(); s++) {
            ForwardResult r = run(model, Optional.of(adapter), s);
            assertThat(maxAbsDiff(r, ReferenceForward.logits(entry, s))).isLessThan(TOLERANCE);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "peft-saved-attn_experts_rslora, lora_attn_experts_rslora",
            "peft-saved-experts_gate_rslora, lora_experts_gate_rslora"})
    void peftsRsloraAlphaIsVisiblyWrong(String adapter, String entry) throws Exception {
        double worst = 0;
        for (int s = 0; s < ReferenceForward.sequences(); s++) {
            ForwardResult r = run("v5-base.float32.safetensors", Optional.of(adapter), s);
            worst = Math.max(worst, maxAbsDiff(r, ReferenceForward.logits(entry, s)));
        }
        assertThat(worst).isGreaterThan(1.0);
    }

    @Test
    void theLegacyAndV5ViewsComputeBitIdenticalLogits() throws Exception {
        ForwardResult legacy = run("legacy-base", Optional.of("legacy-lora-experts_gate"), 0);
        ForwardResult v5 = run("v5-base.float32.safetensors", Optional.of("peft-saved-experts_gate"), 0);
        assertThat(v5.logits()).containsExactly(legacy.logits());
    }

    @Test
    void onlyTheChosenExpertsAreReadAndEachWeightOnce() throws Exception {
        ForwardResult r = run("legacy-base", Optional.empty(), new int[] {1, 1});
        long expertBytes = 3L * 96 * 64 * 4;
        long attention = 2L * (64 * 64 * 2 + 32 * 64 * 2) * 4;
        long router = 2L * 4 * 64 * 4;
        long lmHead = 256L * 64 * 4;
        long embeddingRows = 2L * 64 * 4;
        long norms = 5L * 64 * 4;
        long twoExpertsPerLayer = 2 * 2 * expertBytes;
        assertThat(r.weightBytesRead())
                .isEqualTo(attention + router + lmHead + embeddingRows + norms + twoExpertsPerLayer);
    }

    @Test
    void theScalarAndVectorKernelsGiveTheSameLogitsWithinFloatRounding() throws Exception {
        ModelConfig config = ModelConfig.read(Fixtures.tiny("legacy-base").resolve("config.json"));
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"));
             Checkpoint a = Checkpoint.open(Fixtures.tiny("legacy-lora-attn_experts"))) {
            ModelWeights w = ModelWeights.open(c, config, Optional.of(a));
            int[] tokens = ReferenceForward.inputIds(0);
            ForwardResult scalar = new ForwardPass(w, Kernel.scalar()).run(tokens, 2, ProgressListener.NONE,
                    Cancellation.NEVER);
            ForwardResult vector = new ForwardPass(w, Kernel.vector().orElseThrow()).run(tokens, 2,
                    ProgressListener.NONE, Cancellation.NEVER);
            for (int i = 0; i < scalar.logits().length; i++) {
                assertThat(Math.abs(scalar.logits()[i] - vector.logits()[i])).isLessThan(1e-5f);
            }
        }
    }

    private static int[] topTwo(double[] logits) {
        Integer[] idx = {0, 1, 2, 3};
        Arrays.sort(idx, (a, b) -> Double.compare(logits[b], logits[a]));
        int[] two = {idx[0], idx[1]};
        Arrays.sort(two);
        return two;
    }
}
