package dev.fusebox.viewmodel.diff;

import dev.fusebox.viewmodel.Fixtures;
import dev.fusebox.viewmodel.main.FakeDialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Opened;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class DiffViewModelTest {

    @TempDir
    Path temp;

    private final FakeDialogs dialogs = new FakeDialogs();
    private MainViewModel main;

    @AfterEach
    void close() {
        main.close();
    }

    @Test
    void aLegacyCheckpointAndTheV5OneTransformersBuiltFromItAreTheSameThroughTheMapping() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        DiffViewModel vm = main.diff();
        dialogs.answer(Fixtures.tiny("v5-base.float32.safetensors"));
        vm.compareWith();
        assertThat(vm.rows()).isEmpty();
        assertThat(vm.summaryProperty().get()).startsWith("Same layout: 41 tensors agree").contains("legacy");
        vm.compareValues();
        assertThat(vm.rows()).isEmpty();
        assertThat(vm.summaryProperty().get()).startsWith("Same layout and values");
    }

    @Test
    void valuesOfAMergedAdapterDifferOnlyWhereTheAdapterActs() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("v5-base.float32.safetensors"));
        DiffViewModel vm = main.diff();
        vm.compareWithDropped(List.of(Fixtures.tiny("v5-merged-attn_experts.float32.safetensors")));
        assertThat(vm.rows()).isEmpty();
        vm.compareValues();
        // The attn_experts adapter targets q/k/v/o and the experts, not the router, norms or embeddings.
        assertThat(vm.rows()).extracting(DiffRow::key)
                .contains("model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.experts.gate_up_proj")
                .doesNotContain("model.layers.0.mlp.gate.weight", "model.embed_tokens.weight");
        assertThat(vm.rows()).allSatisfy(r -> assertThat(r.kind()).isEqualTo(DiffRow.Kind.VALUES));
    }

    @Test
    void tensorsOnOneSideOnlyAreListedAsSuch() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        DiffViewModel vm = main.diff();
        vm.compare(Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        assertThat(vm.rows()).extracting(DiffRow::kind).contains(DiffRow.Kind.ONLY_IN_A, DiffRow.Kind.ONLY_IN_B);
        assertThat(vm.summaryProperty().get()).startsWith("Different layout: 0 tensors agree, 41 only in A, 64 only in B");
    }
}
