package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.sample.SamplePreset;
import dev.fusebox.converter.sample.SampleWriter;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VerifierTest {

    private static final Path LEGACY = Fixtures.tiny("legacy-base");
    private static final Path V5 = Fixtures.tiny("v5-base.float32.safetensors");

    @TempDir
    Path dir;

    private static VerificationRequest request(Path converted) {
        return VerificationRequest.of(LEGACY, Optional.empty(), converted, Optional.empty());
    }

    @Test
    void theReportHoldsWhatTheGuiShows() throws Exception {
        VerificationReport r = new Verifier().verify(request(V5).withTokens(List.of(1, 17, 42)),
                ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.passed()).isTrue();
        assertThat(r.failures()).isEmpty();
        assertThat(r.layers()).extracting(VerificationReport.LayerComparison::index).containsExactly(0, 1);
        assertThat(r.layers().getFirst().tolerance()).isGreaterThanOrEqualTo(Tolerance.FLOAT32);
        assertThat(r.layers().getFirst().sourceExperts()).hasSize(3);
        assertThat(r.layers().getFirst().sourceExperts().getFirst()).hasSize(2);
        assertThat(r.positions()).hasSize(3);
        assertThat(r.positions().getFirst().sourceTop5()).hasSize(5);
        assertThat(r.positions().getFirst().sourceTop5()).isEqualTo(r.positions().getFirst().convertedTop5());
        assertThat(r.sourceLogits()).hasDimensions(3, 256);
        assertThat(r.source().layout().jsonName()).isEqualTo("legacy");
        assertThat(r.converted().layout().jsonName()).isEqualTo("v5");
        assertThat(r.source().dtype()).isEqualTo(Dtype.F32);
        assertThat(r.tolerance()).isEqualTo(Tolerance.FLOAT32);
    }

    @Test
    void progressCountsBothSidesLayersThenTheExpertCheckToTheEnd() throws Exception {
        List<Progress> seen = new ArrayList<>();
        new Verifier().verify(request(V5), seen::add, Cancellation.NEVER);
        assertThat(seen).isNotEmpty();
        // 2 sides × (2 layers + lm_head), then 2 layers × 4 experts and 2 routers
        assertThat(seen).allSatisfy(p -> assertThat(p.itemsTotal()).isEqualTo(6 + 10));
        assertThat(seen).extracting(Progress::itemsDone).isSorted();
        assertThat(seen.getLast().fraction()).isEqualTo(1.0);
        assertThat(seen.getFirst().current()).startsWith("source");
        assertThat(seen).anySatisfy(p -> assertThat(p.current()).startsWith("converted"));
        assertThat(seen.getLast().current()).startsWith("experts");
    }

    @Test
    void cancellingStopsTheWork() {
        assertThatThrownBy(() -> new Verifier().verify(request(V5), ProgressListener.NONE, () -> true))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.CANCELLED));
    }

    @Test
    void weightsBeyondMemoryAreRefusedWithTheLayersThatFit() throws Exception {
        long oneLayerBothSides = 2 * (131_328 + 345_600);
        VerificationRequest tight = request(V5).withMemory(oneLayerBothSides + 1000);
        assertThatThrownBy(() -> new Verifier().verify(tight, ProgressListener.NONE, Cancellation.NEVER))
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                    assertThat(e.getMessage()).contains("for all 2 layers").endsWith("verify the first 1 layer only");
                    assertThat(e.remedy()).contains(Remedy.LAYERS);
                });
        VerificationReport r = new Verifier().verify(tight.withLayers(1), ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.passed()).isTrue();
        assertThat(r.layersRun()).isEqualTo(1);
    }

    @Test
    void anAdapterMergedIntoTheConversionIsComparedWithoutAConvertedAdapter() throws Exception {
        VerificationRequest merged = VerificationRequest.of(LEGACY, Optional.of(Fixtures.tiny(
                        "legacy-lora-attn_experts")), Fixtures.tiny("v5-merged-attn_experts.float32.safetensors"),
                Optional.empty());
        VerificationReport r = new Verifier().verify(merged, ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.passed()).as(String.join("; ", r.failures())).isTrue();
        assertThat(r.maxAbsDiff()).isGreaterThan(0).isLessThan(Tolerance.FLOAT32);
    }

    @Test
    void anUnmergedConversionWithoutItsAdapterFails() throws Exception {
        VerificationRequest forgotten = VerificationRequest.of(LEGACY, Optional.of(Fixtures.tiny(
                "legacy-lora-attn_experts")), V5, Optional.empty());
        VerificationReport r = new Verifier().verify(forgotten, ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.passed()).isFalse();
        assertThat(r.failures().getFirst()).startsWith("logits differ by up to");
    }

    @Test
    void aBfloat16AdapterMergedAndReRoundedPassesTheBfloat16Tolerance() throws Exception {
        Path model = dir.resolve("tiny-bf16");
        new SampleWriter(SamplePreset.TINY, 7, Dtype.BF16).write(model, true, SampleWriter.DEFAULT_MAX_SHARD_BYTES,
                ProgressListener.NONE, Cancellation.NEVER);
        Path merged = dir.resolve("merged");
        MergedCheckpoint.write(model, SampleWriter.adapterDirectory(model), merged);
        VerificationReport r = new Verifier().verify(VerificationRequest.of(model,
                        Optional.of(SampleWriter.adapterDirectory(model)), merged, Optional.empty()),
                ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.tolerance()).isGreaterThanOrEqualTo(Tolerance.BFLOAT16);
        assertThat(r.maxAbsDiff()).isGreaterThan(Tolerance.FLOAT32);
        assertThat(r.passed()).as(String.join("; ", r.failures())).isTrue();
    }

    @Test
    void aConversionIsComparedInEitherDirection() throws Exception {
        VerificationRequest backwards = VerificationRequest.of(V5, Optional.empty(), LEGACY, Optional.empty());
        VerificationReport r = new Verifier().verify(backwards, ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.passed()).isTrue();
        assertThat(r.source().layout().jsonName()).isEqualTo("v5");
    }

    @Test
    void throughThePlanOneLayerReadsOnlyThatLayerAndTheEndsOfTheModel() throws Exception {
        VerificationReport r = new Verifier().verify(VerificationRequest.throughPlan(LEGACY, Optional.empty())
                .withLayers(1).withTokens(List.of(1, 2)), ProgressListener.NONE, Cancellation.NEVER);
        assertThat(r.passed()).as(String.join("; ", r.failures())).isTrue();
        long layer0AndEnds = 0;
        long embeddingRow = 0;
        try (dev.fusebox.converter.checkpoint.Checkpoint c = dev.fusebox.converter.checkpoint.Checkpoint.open(LEGACY)) {
            for (var t : c.specs()) {
                if (t.key().startsWith("model.layers.0.") || t.key().equals("lm_head.weight")
                        || t.key().equals("model.norm.weight")) {
                    layer0AndEnds += t.byteSize();
                }
                if (t.key().equals("model.embed_tokens.weight")) {
                    embeddingRow = t.byteSize() / t.shape().dim(0);
                }
            }
        }
        // the forward pass reads the chosen experts and the expert check all of them again: at most twice layer 0
        long most = 2 * layer0AndEnds + 2 * embeddingRow;
        assertThat(r.converted().throughPlan()).isTrue();
        assertThat(r.converted().weightBytesRead()).isPositive().isLessThanOrEqualTo(most);
        assertThat(r.source().weightBytesRead()).isLessThanOrEqualTo(most);
        assertThat(r.experts().layers()).containsExactly(0);
    }
}
