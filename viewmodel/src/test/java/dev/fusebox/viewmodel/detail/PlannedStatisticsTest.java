package dev.fusebox.viewmodel.detail;

import dev.fusebox.converter.tensor.TensorStatistics;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.main.FakeDialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Opened;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Statistics of a tensor of the v5 pane while the legacy checkpoint is open: read through the conversion's plan,
 * they must be those of the per-expert sources put together as transformers fuses them (w1 above w3, expert by
 * expert), computed here by plain loops over the bytes read by hand.
 */
class PlannedStatisticsTest {

    private static final String GATE_UP = "model.layers.0.mlp.experts.gate_up_proj";
    private static final int EXPERTS = 4;
    private static final int I = 96;
    private static final int H = 64;

    @TempDir
    Path temp;
    private MainViewModel main;
    private TensorDetailViewModel detail;

    @BeforeEach
    void open() {
        main = Opened.with(temp, new FakeDialogs(), Fixtures.tiny("legacy-base"));
        detail = main.detail();
    }

    @AfterEach
    void close() {
        main.close();
    }

    private void select(Side side, String key) {
        TreeRow row = main.trees().tensorRow(side, key).orElseThrow();
        main.trees().select(row);
        assertThat(detail.rowProperty().get()).isSameAs(row);
    }

    /** Expert e's [2I, H] slice of the fused tensor, from w1 and w3 read by hand. */
    private static float[] expertSlice(int e) throws IOException {
        Path file = Fixtures.tiny("legacy-base").resolve("model.safetensors");
        String prefix = "model.layers.0.block_sparse_moe.experts." + e + ".";
        float[] w1 = RawSafetensors.f32(file, prefix + "w1.weight");
        float[] w3 = RawSafetensors.f32(file, prefix + "w3.weight");
        float[] out = new float[2 * I * H];
        System.arraycopy(w1, 0, out, 0, I * H);
        System.arraycopy(w3, 0, out, I * H, I * H);
        return out;
    }

    @Test
    void aFusedTensorNotYetWrittenHasTheStatisticsOfItsSources() throws IOException {
        select(Side.V5, GATE_UP);
        assertThat(detail.canComputeStatisticsProperty().get()).isTrue();
        assertThat(detail.statisticsNoteProperty().get()).contains("through the conversion's plan");
        assertThat(detail.facts()).anySatisfy(f -> assertThat(f.name() + ": " + f.value())
                .isEqualTo("From: 8 tensors: 0.w1 … 3.w3"));
        detail.sliceIndexProperty().set(2);
        detail.computeStatistics();
        TensorStatistics s = detail.statisticsProperty().get();

        List<Float> all = new ArrayList<>();
        for (int e = 0; e < EXPERTS; e++) {
            for (float v : expertSlice(e)) {
                all.add(v);
            }
        }
        double sum = 0;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (float v : all) {
            sum += v;
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        double mean = sum / all.size();
        double squares = 0;
        for (float v : all) {
            squares += (v - mean) * (v - mean);
        }
        assertThat(s.count()).isEqualTo(EXPERTS * 2L * I * H);
        assertThat(s.min()).isEqualTo(min);
        assertThat(s.max()).isEqualTo(max);
        assertThat(s.mean()).isCloseTo(mean, within(1e-9));
        assertThat(s.std()).isCloseTo(Math.sqrt(squares / (all.size() - 1)), within(1e-9));

        // The heat map of expert 2: 192 rows averaged into 128 cells (source row r in cell r·128/192), 64 columns.
        float[] slice = expertSlice(2);
        TensorStatistics.HeatMap map = s.heatMap();
        assertThat(map.slice()).isEqualTo("[2, :, :]");
        assertThat(map.rows()).isEqualTo(128);
        assertThat(map.cols()).isEqualTo(H);
        double[] sums = new double[128 * H];
        int[] counts = new int[128 * H];
        for (int r = 0; r < 2 * I; r++) {
            for (int c = 0; c < H; c++) {
                int cell = r * 128 / (2 * I) * H + c;
                sums[cell] += slice[r * H + c];
                counts[cell]++;
            }
        }
        for (int cell = 0; cell < sums.length; cell++) {
            assertThat((double) map.value(cell / H, cell % H)).isCloseTo(sums[cell] / counts[cell], within(1e-6));
        }
    }

    @Test
    void theHeatMapMarksWhereW3BeginsInAnExpertAndDescribesTheCellUnderThePointer() {
        select(Side.V5, GATE_UP);
        detail.computeStatistics();
        HeatMapLayout layout = detail.layoutProperty().get();
        assertThat(layout.rowMarks()).containsExactly(new HeatMapLayout.Mark(I, HeatMapLayout.Kind.PART, "0.w3"));
        assertThat(layout.colMarks()).isEmpty();
        TensorStatistics.HeatMap map = detail.statisticsProperty().get().heatMap();
        // Cell row 64 of 128 averages source rows 96 and 97 of 192: the first rows of w3.
        detail.hover(64, 5);
        assertThat(detail.hoverProperty().get()).isEqualTo("rows 96–97 · col 5 · 0.w3 · mean "
                + TensorDetailViewModel.number(map.value(64, 5)));
        detail.clearHover();
        assertThat(detail.hoverProperty().get()).isEmpty();
        double scale = map.maxAbs();
        assertThat(detail.legendProperty().get()).isEqualTo(new TensorDetailViewModel.Legend(
                TensorDetailViewModel.number(-scale), TensorDetailViewModel.number(scale)));
    }

    @Test
    void theWholeTensorStacksTheExpertsAndMarksEachExpertAndEachW3() throws IOException {
        select(Side.V5, GATE_UP);
        detail.wholeTensorProperty().set(true);
        detail.computeStatistics();
        TensorStatistics.HeatMap map = detail.statisticsProperty().get().heatMap();
        assertThat(map.slice()).isEqualTo("[:, :, :]");
        assertThat(map.sourceRows()).isEqualTo(EXPERTS * 2L * I);
        List<HeatMapLayout.Mark> marks = detail.layoutProperty().get().rowMarks();
        assertThat(marks).extracting(m -> m.at() + " " + m.kind() + " " + m.label()).containsExactly(
                "96 PART 0.w3", "192 SLICE expert 1", "288 PART 1.w3", "384 SLICE expert 2", "480 PART 2.w3",
                "576 SLICE expert 3", "672 PART 3.w3");
        // 768 rows in 128 cells: cell 16 averages rows 96–101 of expert 0, all w3.
        detail.hover(16, 0);
        assertThat(detail.hoverProperty().get()).startsWith("expert 0 · rows 96–101 · col 0 · 0.w3 · mean ");
        float[] expert3 = expertSlice(3);
        double sum = 0;
        for (int r = 2 * I - 6; r < 2 * I; r++) {
            sum += expert3[r * H + H - 1];
        }
        assertThat((double) map.value(127, H - 1)).isCloseTo(sum / 6, within(1e-6));
    }

    @Test
    void anOpenedFusedTensorIsMarkedByThePartsTheConversionToLegacyTakes() {
        main.open(List.of(Fixtures.tiny("v5-base.float32.safetensors")));
        select(Side.V5, GATE_UP);
        assertThat(detail.rowProperty().get().stored()).isPresent();
        detail.sliceIndexProperty().set(1);
        detail.computeStatistics();
        assertThat(detail.layoutProperty().get().rowMarks()).extracting(HeatMapLayout.Mark::label)
                .containsExactly("1.w3");
        assertThat(detail.layoutProperty().get().rowMarks().getFirst().at()).isEqualTo(I);
    }
}
