package dev.fusebox.viewmodel.detail;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.tensor.TensorStatistics;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.browse.TreeRows;
import dev.fusebox.viewmodel.task.SynchronousTaskRunner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TensorDetailViewModelTest {

    private Checkpoint v5;
    private TreeRow root;
    private final TensorDetailViewModel vm = new TensorDetailViewModel(new SynchronousTaskRunner());

    @BeforeEach
    void open() throws FuseboxException {
        v5 = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"));
        root = TreeRows.build(Side.V5, "mixtral", v5.modelConfig(), v5.specs(), List.of(), v5.tensors());
    }

    @AfterEach
    void close() {
        v5.close();
    }

    private TreeRow tensor(String key) {
        return root.tensors().stream().filter(t -> t.path().equals(key)).findFirst().orElseThrow();
    }

    @Test
    void aTensorShowsWhereItsBytesAre() {
        vm.rowProperty().set(tensor("model.layers.0.mlp.experts.gate_up_proj"));
        assertThat(vm.titleProperty().get()).isEqualTo("model.layers.0.mlp.experts.gate_up_proj");
        assertThat(vm.facts()).extracting(f -> f.name() + ": " + f.value()).contains(
                "Dtype: F32 (float32)", "Shape: [4, 192, 64]", "Elements: 49,152", "Bytes: 192 KiB (196,608)");
        assertThat(vm.facts()).anySatisfy(f -> assertThat(f.value()).endsWith("v5-base.float32.safetensors"));
        assertThat(vm.canComputeStatisticsProperty().get()).isTrue();
        assertThat(vm.sliceCountProperty().get()).isEqualTo(4);
    }

    @Test
    void statisticsComeOnDemandAndFollowTheChosenSlice() {
        vm.rowProperty().set(tensor("model.layers.0.mlp.experts.gate_up_proj"));
        assertThat(vm.statisticsProperty().get()).isNull();
        vm.computeStatistics();
        TensorStatistics first = vm.statisticsProperty().get();
        assertThat(first.count()).isEqualTo(4 * 192 * 64);
        assertThat(first.heatMap().slice()).isEqualTo("[0, :, :]");
        assertThat(vm.statisticsFacts()).extracting(TensorDetailViewModel.Fact::name)
                .containsExactly("Min", "Max", "Mean", "Std", "NaN / ±inf");
        vm.sliceIndexProperty().set(3);
        assertThat(vm.statisticsProperty().get().heatMap().slice()).isEqualTo("[3, :, :]");
        assertThat(vm.job().getState()).isEqualTo(dev.fusebox.viewmodel.task.Job.State.SUCCEEDED);
    }

    @Test
    void aModuleSummarisesAndOffersNoStatistics() {
        TreeRow experts = root.tensors().getFirst().parent().orElseThrow();
        vm.rowProperty().set(experts);
        assertThat(vm.facts()).extracting(TensorDetailViewModel.Fact::name).containsExactly("Module", "Tensors", "Bytes");
        assertThat(vm.canComputeStatisticsProperty().get()).isFalse();
    }

    @Test
    void aTensorOnlyAConversionWouldWriteHasNoValuesYet() {
        TreeRow planned = TreeRows.build(Side.V5, "mixtral", v5.modelConfig(), v5.specs(), List.of(), java.util.Map.of())
                .tensors().getFirst();
        vm.rowProperty().set(planned);
        assertThat(vm.canComputeStatisticsProperty().get()).isFalse();
        assertThat(vm.statisticsNoteProperty().get()).contains("convert first");
    }

    @Test
    void selectingAnotherTensorForgetsTheStatistics() {
        vm.rowProperty().set(tensor("model.layers.0.mlp.experts.gate_up_proj"));
        vm.computeStatistics();
        vm.rowProperty().set(tensor("model.layers.0.mlp.experts.down_proj"));
        assertThat(vm.statisticsProperty().get()).isNull();
        assertThat(vm.statisticsFacts()).isEmpty();
    }
}
