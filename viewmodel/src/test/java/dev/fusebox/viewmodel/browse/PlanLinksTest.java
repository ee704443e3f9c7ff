package dev.fusebox.viewmodel.browse;

import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.main.FakeDialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Opened;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Linked selection with the engine's real plan, both ways, on the tiny fixture. */
class PlanLinksTest {

    @TempDir
    Path temp;

    private MainViewModel vm;

    @AfterEach
    void close() {
        vm.close();
    }

    private TreeRow module(Side side, String path) {
        return find(vm.trees().rootProperty(side).get(), path);
    }

    private static TreeRow find(TreeRow r, String path) {
        if (!r.isTensor() && r.path().equals(path)) {
            return r;
        }
        for (TreeRow c : r.children()) {
            TreeRow f = find(c, path);
            if (f != null) {
                return f;
            }
        }
        return null;
    }

    @Test
    void aLegacyCheckpointShowsWhatConvertWritesOnTheV5Side() {
        vm = Opened.with(temp, new FakeDialogs(), Fixtures.tiny("legacy-base"));
        TreeRow v5 = vm.trees().rootProperty(Side.V5).get();
        assertThat(v5.tensors()).extracting(TreeRow::path).contains("model.layers.0.mlp.experts.gate_up_proj")
                .doesNotContain("model.layers.0.block_sparse_moe.gate.weight");
        assertThat(v5.tensors()).allSatisfy(t -> assertThat(t.stored()).isEmpty());
        assertThat(vm.trees().captionProperty(Side.V5).get()).startsWith("what Convert writes, by the mixtral rules");
    }

    @Test
    void anExpertsW1SelectsTheSliceOfGateUpProjItLandsIn() {
        vm = Opened.with(temp, new FakeDialogs(), Fixtures.tiny("legacy-base"));
        vm.trees().select(module(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.1.w1"));
        assertThat(vm.trees().links()).singleElement().satisfies(l -> {
            assertThat(l.to().path()).isEqualTo("model.layers.0.mlp.experts.gate_up_proj");
            assertThat(l.label()).isEqualTo("[1, 0:96, :]");
        });
    }

    @Test
    void gateUpProjSelectsEveryW1AndW3WithWhereEachLands() {
        vm = Opened.with(temp, new FakeDialogs(), Fixtures.tiny("legacy-base"));
        TreeRow fused = vm.trees().tensorRow(Side.V5, "model.layers.1.mlp.experts.gate_up_proj").orElseThrow();
        vm.trees().select(fused);
        assertThat(vm.trees().links()).extracting(l -> l.to().path() + " " + l.label()).containsExactlyInAnyOrder(
                "model.layers.1.block_sparse_moe.experts.0.w1.weight [0, 0:96, :]",
                "model.layers.1.block_sparse_moe.experts.0.w3.weight [0, 96:192, :]",
                "model.layers.1.block_sparse_moe.experts.1.w1.weight [1, 0:96, :]",
                "model.layers.1.block_sparse_moe.experts.1.w3.weight [1, 96:192, :]",
                "model.layers.1.block_sparse_moe.experts.2.w1.weight [2, 0:96, :]",
                "model.layers.1.block_sparse_moe.experts.2.w3.weight [2, 96:192, :]",
                "model.layers.1.block_sparse_moe.experts.3.w1.weight [3, 0:96, :]",
                "model.layers.1.block_sparse_moe.experts.3.w3.weight [3, 96:192, :]");
    }

    @Test
    void aV5CheckpointLinksTheOtherWayWithTheSameSlices() {
        vm = Opened.with(temp, new FakeDialogs(), Fixtures.tiny("v5-base.float32.safetensors"));
        assertThat(vm.trees().rootProperty(Side.V5).get().tensors()).allSatisfy(t -> assertThat(t.stored()).isPresent());
        TreeRow w3 = vm.trees().tensorRow(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.2.w3.weight")
                .orElseThrow();
        vm.trees().select(w3);
        assertThat(vm.trees().links()).singleElement().satisfies(l -> {
            assertThat(l.to().path()).isEqualTo("model.layers.0.mlp.experts.gate_up_proj");
            assertThat(l.label()).isEqualTo("[2, 96:192, :]");
        });
    }

    @Test
    void theRouterLinksOneToOneUnderItsNewName() {
        vm = Opened.with(temp, new FakeDialogs(), Fixtures.tiny("legacy-base"));
        vm.trees().select(vm.trees().tensorRow(Side.LEGACY, "model.layers.0.block_sparse_moe.gate.weight").orElseThrow());
        assertThat(vm.trees().counterparts()).extracting(TreeRow::path).containsExactly("model.layers.0.mlp.gate.weight");
        assertThat(vm.trees().links().getFirst().label()).isEmpty();
    }
}
