package dev.fusebox.viewmodel.diff;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.main.FakeDialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Opened;
import dev.fusebox.viewmodel.task.Job;
import dev.fusebox.viewmodel.task.SynchronousTaskRunner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

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
    void anAdapterAgainstItsBaseListsTheWeightsItChangesAndByHowMuch() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("v5-base.float32.safetensors"));
        DiffViewModel vm = main.diff();
        vm.compareWithDropped(List.of(Fixtures.tiny("legacy-lora-experts_gate")));
        // w1, w2 and w3 of 4 experts and the router, in each of 2 layers.
        assertThat(vm.adapterDeltas()).hasSize(2 * (4 * 3 + 1));
        assertThat(vm.adapterDeltas()).extracting(d -> d.weight())
                .contains("model.layers.1.block_sparse_moe.gate.weight")
                .doesNotContain("model.layers.0.self_attn.q_proj.weight");
        assertThat(vm.adapterDeltas()).allSatisfy(d -> assertThat(d.norm()).isPositive());
        assertThat(vm.summaryProperty().get()).contains("the adapter changes 26 weights of A");
        assertThat(vm.adapterDeltas()).allSatisfy(d -> assertThat(d.relative()).isEmpty());
        // Compare values reads the base's weights the adapter changes, for the figure relative to each.
        vm.compareValues();
        assertThat(vm.adapterDeltas()).hasSize(26).allSatisfy(d -> {
            double r = d.relative().orElseThrow();
            assertThat(r).isPositive().isCloseTo(d.norm() / d.baseNorm().orElseThrow(), within(1e-15 * r));
        });
        vm.compareWithDropped(List.of(Fixtures.tiny("legacy-base")));
        assertThat(vm.adapterDeltas()).isEmpty();
    }

    @Test
    void compareWithTakesASafetensorsFileAndAFolderByItsConfigJson() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("v5-base.float32.safetensors"));
        DiffViewModel vm = main.diff();
        dialogs.answer(Fixtures.tiny("v5-merged-attn_experts.float32.safetensors"));
        vm.compareWith();
        assertThat(vm.bProperty().get()).isEqualTo(Fixtures.tiny("v5-merged-attn_experts.float32.safetensors"));
        assertThat(vm.summaryProperty().get()).startsWith("Same layout: 21 tensors agree");
        dialogs.answer(Fixtures.tiny("legacy-base").resolve("config.json"));
        vm.compareWith();
        assertThat(vm.bProperty().get()).isEqualTo(Fixtures.tiny("legacy-base"));
        assertThat(vm.summaryProperty().get()).startsWith("Same layout: 21 tensors agree").contains("B read legacy");
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
    void sameLayoutWithOtherValuesSaysSoAndShowsBothValuesWhereTheyDifferMost() throws Exception {
        Path base = Fixtures.tiny("v5-base.float32.safetensors");
        Path merged = Fixtures.tiny("v5-merged-attn_experts.float32.safetensors");
        main = Opened.with(temp, dialogs, base);
        DiffViewModel vm = main.diff();
        vm.compareWithDropped(List.of(merged));
        vm.compareValues();
        long differing = vm.rows().size();
        assertThat(vm.summaryProperty().get())
                .startsWith("Same layout, different values: 21 tensors agree, 0 only in A, 0 only in B, 0 changed, "
                        + differing + " with other values");
        String key = "model.layers.0.self_attn.q_proj.weight";
        DiffRow q = vm.rows().stream().filter(r -> r.key().equals(key)).findFirst().orElseThrow();
        // Where |a − b| is largest, read from both files here, element by element.
        float[] a = floats(base, key);
        float[] b = floats(merged, key);
        int worst = 0;
        for (int i = 1; i < a.length; i++) {
            if (Math.abs((double) a[i] - b[i]) > Math.abs((double) a[worst] - b[worst])) {
                worst = i;
            }
        }
        String at = " at [" + worst / 64 + ", " + worst % 64 + "]";
        assertThat(q.a()).isEqualTo(String.format(Locale.ROOT, "%.6g", a[worst]) + at);
        assertThat(q.b()).isEqualTo(String.format(Locale.ROOT, "%.6g", b[worst]) + at);
        assertThat(q.note()).endsWith(", by at most " + String.format(Locale.ROOT, "%.6g",
                Math.abs((double) a[worst] - b[worst])));
    }

    private static float[] floats(Path file, String key) throws Exception {
        try (Checkpoint c = Checkpoint.open(file)) {
            StoredTensor t = c.tensors().get(key);
            assertThat(t.spec().shape().dims()).containsExactly(64, 64);
            return t.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
        }
    }

    @Test
    void openingAnotherCheckpointForgetsAAndBSoCompareValuesCannotRerunTheOldPair() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        DiffViewModel vm = main.diff();
        vm.compareWithDropped(List.of(Fixtures.tiny("v5-base.float32.safetensors")));
        assertThat(vm.canCompareValuesProperty().get()).isTrue();
        main.open(List.of(Fixtures.tiny("v5-merged-attn_experts.float32.safetensors")));
        assertThat(vm.aProperty().get()).isNull();
        assertThat(vm.bProperty().get()).isNull();
        assertThat(vm.rows()).isEmpty();
        assertThat(vm.canCompareValuesProperty().get()).isFalse();
        assertThat(vm.job().getState()).isEqualTo(Job.State.IDLE);
        assertThat(vm.summaryProperty().get()).startsWith("Compare what is open with another checkpoint");
        main.close();
        assertThat(vm.aProperty().get()).isNull();
    }

    @Test
    void cancellingCompareValuesKeepsTheLayoutComparisonAndCompareValuesOnOffer() throws Exception {
        Path a = Fixtures.tiny("v5-base.float32.safetensors");
        AtomicBoolean cancelWhileLoading = new AtomicBoolean();
        AtomicReference<DiffViewModel> self = new AtomicReference<>();
        DiffViewModel vm = new DiffViewModel(new SynchronousTaskRunner(), dialogs, () -> {
            if (cancelWhileLoading.get()) {
                self.get().job().cancel();
            }
            return RuleBook.bundled();
        }, () -> a);
        self.set(vm);
        vm.compareWithDropped(List.of(Fixtures.tiny("legacy-base")));
        String layout = vm.summaryProperty().get();
        assertThat(layout).startsWith("Same layout: 21 tensors agree");
        cancelWhileLoading.set(true);
        vm.compareValues();
        assertThat(vm.job().getState()).isEqualTo(Job.State.CANCELLED);
        assertThat(vm.job().currentProperty().get()).isEqualTo("Cancelled — nothing written.");
        assertThat(vm.summaryProperty().get()).isEqualTo(layout);
        assertThat(vm.reportProperty().get()).isNotNull();
        assertThat(vm.canCompareValuesProperty().get()).isTrue();
        cancelWhileLoading.set(false);
        vm.compareValues();
        assertThat(vm.summaryProperty().get()).startsWith("Same layout and values");
        main = Opened.empty(temp, dialogs);
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
