package dev.fusebox.converter.convert;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A value diff tells where two checkpoints differ down to the part of a fused tensor: the v5 fixture against a
 * copy with one expert's up projection (w3) of one layer changed shows exactly that part, with ‖δ‖ / ‖w3‖
 * computed here from the legacy fixture's own w3, in every pairing of layouts.
 */
class ValueDiffPartsTest {

    private static final Path LEGACY = Fixtures.tiny("legacy-base");
    private static final Path V5 = Fixtures.tiny("v5-base.float32.safetensors");
    private static final String W3 = "model.layers.1.block_sparse_moe.experts.2.w3.weight";
    private static final String GATE_UP = "model.layers.1.mlp.experts.gate_up_proj";

    @TempDir
    Path dir;

    private Path perturbed;
    private double expectedRelative;
    private double expectedCellRelative;
    private double expectedMax;
    private long changedElements;

    /** Adds δ_k = (k % 7 − 3) · 1e-3 to the first 500 elements of layer 1 expert 2's w3 half of gate_up_proj. */
    @BeforeEach
    void perturbOneExpertsUpProjection() throws Exception {
        perturbed = dir.resolve("perturbed.safetensors");
        Files.copy(V5, perturbed);
        double normW3;
        double normExpert;
        long intermediate;
        try (Checkpoint legacy = Checkpoint.open(LEGACY)) {
            intermediate = legacy.tensor(W3).orElseThrow().shape().dim(0);
            normW3 = Math.sqrt(sumOfSquares(legacy.tensor(W3).orElseThrow()));
            double all = 0;
            for (String w : new String[] {"w1", "w2", "w3"}) {
                all += sumOfSquares(legacy.tensor(W3.replace("w3", w)).orElseThrow());
            }
            normExpert = Math.sqrt(all);
        }
        try (Checkpoint v5 = Checkpoint.open(perturbed)) {
            StoredTensor gateUp = v5.tensor(GATE_UP).orElseThrow();
            long hidden = gateUp.shape().dim(2);
            // Expert 2's block is [2I, H]; its up half starts after its gate half.
            long first = (2 * 2 * intermediate + intermediate) * hidden;
            ByteBuffer b = ByteBuffer.allocate(500 * 4).order(ByteOrder.LITTLE_ENDIAN);
            try (FileChannel ch = FileChannel.open(perturbed, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                long at = gateUp.fileOffset() + first * 4;
                ch.read(b, at);
                double sumSq = 0;
                for (int k = 0; k < 500; k++) {
                    float old = b.getFloat(k * 4);
                    float now = (float) (old + (k % 7 - 3) * 1e-3);
                    b.putFloat(k * 4, now);
                    double d = (double) now - old;
                    sumSq += d * d;
                    expectedMax = Math.max(expectedMax, Math.abs(d));
                    changedElements += now != old ? 1 : 0;
                }
                ch.write(b.flip(), at);
                expectedRelative = Math.sqrt(sumSq) / normW3;
                expectedCellRelative = Math.sqrt(sumSq) / normExpert;
            }
        }
    }

    private static double sumOfSquares(StoredTensor t) throws Exception {
        MemorySegment data = t.data();
        double sum = 0;
        for (long i = 0; i < t.shape().elementCount(); i++) {
            double v = FloatCodec.get(data, Dtype.F32, i);
            sum += v * v;
        }
        return sum;
    }

    private static DiffReport diff(Path a, Path b) throws Exception {
        try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
            return CheckpointDiff.compare(ca, cb, true, Cancellation.NEVER);
        }
    }

    /** {@code tolerance} relative: 1e-9 where A holds the original values, looser where ‖a‖ is of the changed ones. */
    private void assertOnlyTheOneExpertDiffers(DiffReport r, double tolerance) {
        List<DiffSummary.Cell> differing = DiffSummary.layers(r).stream()
                .filter(c -> !c.difference().identical()).toList();
        assertThat(differing).extracting(DiffSummary.Cell::layer, DiffSummary.Cell::group)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1, "expert 2"));
        Difference d = differing.getFirst().difference();
        assertThat(d.differingElements()).isEqualTo(changedElements);
        assertThat(d.maxAbsDiff()).isCloseTo(expectedMax, within(1e-12));
        // The cell is the whole expert of that layer: its w1, w2 and w3.
        assertThat(d.relative()).isCloseTo(expectedCellRelative, within(expectedCellRelative * tolerance));
    }

    @Test
    void twoV5CheckpointsDifferInTheOnePartOfTheFusedTensor() throws Exception {
        DiffReport r = diff(V5, perturbed);
        assertOnlyTheOneExpertDiffers(r, 1e-9);
        DiffReport.ValueDiff gateUp = r.values().orElseThrow().stream().filter(v -> v.key().equals(GATE_UP))
                .findFirst().orElseThrow();
        assertThat(gateUp.parts()).hasSize(8);
        assertThat(gateUp.parts().stream().filter(p -> !p.difference().identical()))
                .singleElement().satisfies(p -> {
                    assertThat(p.name()).isEqualTo("model.layers.1.block_sparse_moe.experts.2.w3.weight");
                    assertThat(p.slice()).isEqualTo("[2, 96:192, :]");
                    assertThat(p.difference().relative()).isCloseTo(expectedRelative, within(expectedRelative * 1e-9));
                });
        assertThat(r.values().orElseThrow().stream().filter(v -> !v.identical()))
                .extracting(DiffReport.ValueDiff::key).containsExactly(GATE_UP);
    }

    @Test
    void aV5CheckpointAgainstTheLegacyOneNamesTheLegacyTensor() throws Exception {
        assertOnlyTheOneExpertDiffers(diff(perturbed, LEGACY), 1e-4);
        DiffReport legacyFirst = diff(LEGACY, perturbed);
        assertThat(legacyFirst.values().orElseThrow().stream().filter(v -> !v.identical()))
                .singleElement().satisfies(v -> {
                    assertThat(v.key()).isEqualTo(W3);
                    assertThat(v.whole().relative()).isCloseTo(expectedRelative, within(expectedRelative * 1e-9));
                });
        assertOnlyTheOneExpertDiffers(legacyFirst, 1e-9);
    }

    @Test
    void aCheckpointAndItsConversionAreIdenticalEverywhere() throws Exception {
        DiffReport r = diff(LEGACY, V5);
        assertThat(r.identical()).isTrue();
        assertThat(DiffSummary.layers(r)).isNotEmpty().allSatisfy(c -> assertThat(c.difference().identical()).isTrue());
        assertThat(DiffSummary.layers(r)).extracting(DiffSummary.Cell::group)
                .contains("attention", "router", "expert 0", "expert 3", "other");
    }

}
