package dev.fusebox.viewmodel.detail;

import dev.fusebox.converter.tensor.TensorStatistics;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.main.FakeDialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Opened;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Statistics of fine-grained FP8 weights (F8_E4M3 with a float32 weight_scale_inv per [32, 16] block) are those of
 * the dequantized weight. The expected figures are torch's, of the weight as transformers 5.18's Fp8Dequantize makes
 * it in float32, printed by {@code tools/make_fp8_moe_fixture.py --statistics FILE KEY…} from the fixture's files
 * (torch 2.13): min and max exactly, mean and std to rounding of the sums.
 */
class Fp8StatisticsTest {

    @TempDir
    Path temp;
    private MainViewModel main;

    @AfterEach
    void close() {
        main.close();
    }

    private TensorDetailViewModel statistics(Path open, Side side, String key) {
        main = Opened.with(temp, new FakeDialogs(), open);
        TreeRow row = main.trees().tensorRow(side, key).orElseThrow();
        main.trees().select(row);
        TensorDetailViewModel detail = main.detail();
        assertThat(detail.canComputeStatisticsProperty().get()).isTrue();
        detail.computeStatistics();
        assertThat(detail.statisticsProperty().get()).isNotNull();
        return detail;
    }

    private static void assertFigures(TensorStatistics s, long count, double min, double max, double mean,
                                      double std) {
        assertThat(s.count()).isEqualTo(count);
        assertThat(s.nanCount()).isZero();
        assertThat(s.min()).isEqualTo(min);
        assertThat(s.max()).isEqualTo(max);
        assertThat(s.mean()).isCloseTo(mean, within(1e-12));
        assertThat(s.std()).isCloseTo(std, within(1e-12));
    }

    @Test
    void anExpertsFp8WeightHasTheStatisticsOfItsDequantizedValues() {
        TensorDetailViewModel detail = statistics(Fixtures.fp8("legacy"), Side.LEGACY,
                "model.layers.0.mlp.experts.1.gate_proj.weight");
        assertFigures(detail.statisticsProperty().get(), 96 * 64, -1.7890623807907104, 1.71875,
                -0.0008566944069278529, 0.5059889616829308);
        assertThat(detail.statisticsFacts().getFirst()).isEqualTo(new TensorDetailViewModel.Fact("Of",
                "the dequantized weight: F8_E4M3 × weight_scale_inv, blocks [32, 16]"));
    }

    @Test
    void anAttentionProjectionOfFewerRowsThanTwoBlocksIsDequantizedToo() {
        TensorDetailViewModel detail = statistics(Fixtures.fp8("legacy"), Side.LEGACY,
                "model.layers.0.self_attn.k_proj.weight");
        assertFigures(detail.statisticsProperty().get(), 32 * 64, -1.90625, 1.8203125, 0.0016833066443098232,
                0.505055457307562);
    }

    @Test
    void theFusedFp8TensorConvertWouldWriteHasTheStatisticsOfTransformersOwnFusedOne() {
        // fused-fp8.safetensors is what transformers 5.18 holds after loading legacy/ with its FP8 experts: the
        // same values the v5 pane's plan reads from the per-expert weights and scales.
        TensorDetailViewModel detail = statistics(Fixtures.fp8("legacy"), Side.V5,
                "model.layers.0.mlp.experts.gate_up_proj");
        assertThat(detail.statisticsNoteProperty().get()).startsWith("Statistics are of the dequantized weight")
                .contains("through the conversion's plan");
        assertFigures(detail.statisticsProperty().get(), 4 * 192 * 64, -2.078125, 2.046875,
                -0.0010286831527310063, 0.49992206503219777);
        assertThat(detail.statisticsFacts().getFirst().value()).endsWith("gate_up_proj_scale_inv, blocks [32, 16]");
    }

    @Test
    void anOpenFusedFp8FileHasTheStatisticsOfItsDequantizedExperts() {
        TensorDetailViewModel detail = statistics(Fixtures.fp8("fused-fp8.safetensors"), Side.V5,
                "model.layers.0.mlp.experts.down_proj");
        assertFigures(detail.statisticsProperty().get(), 4 * 64 * 96, -2.1875, 2.3125, 0.0020732666903612675,
                0.4999745418744475);
        assertThat(detail.statisticsProperty().get().heatMap().slice()).isEqualTo("[0, :, :]");
    }
}
