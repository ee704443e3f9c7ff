package dev.fusebox.viewmodel.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.convert.CheckpointDiff;
import dev.fusebox.converter.convert.DiffReport;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.main.CacheSnapshot;
import dev.fusebox.viewmodel.main.FakeDialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Notice;
import dev.fusebox.viewmodel.main.Opened;
import dev.fusebox.viewmodel.task.Job;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class ConvertViewModelTest {

    @TempDir
    Path temp;

    private final FakeDialogs dialogs = new FakeDialogs();
    private MainViewModel main;

    @AfterEach
    void close() {
        main.close();
    }

    private Path out() throws IOException {
        return Files.createDirectories(temp.resolve("out"));
    }

    @Test
    void convertingTheTinyFixtureWritesWhatTransformersBuildsAndProgressReaches100Percent() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        ConvertViewModel vm = main.convert();
        assertThat(vm.descriptionProperty().get()).isEqualTo("Convert legacy-base from legacy to v5: 21 tensors, 803 KiB, as legacy-base-v5");
        List<Double> progress = new ArrayList<>();
        vm.job().progressProperty().addListener((o, a, b) -> progress.add(b.doubleValue()));
        dialogs.answer(out());
        vm.convert();
        assertThat(vm.job().getState()).isEqualTo(Job.State.SUCCEEDED);
        assertThat(progress).last().isEqualTo(1.0);
        assertThat(progress.stream().filter(p -> p > 0 && p < 1)).isNotEmpty();
        assertThat(vm.job().percentTextProperty().get()).isEqualTo("100 %");
        Path written = out().resolve("legacy-base-v5");
        assertThat(vm.outputs()).containsExactly(written);
        assertThat(vm.outcomeTextProperty().get()).startsWith("Wrote 21 tensors, 803 KiB, to " + written);
        assertThat(main.noticeProperty().get().kind()).isEqualTo(Notice.Kind.SUCCESS);
        assertThat(main.noticeProperty().get().text()).startsWith("Converted: legacy-base-v5.");
        try (Checkpoint converted = Checkpoint.open(written);
             Checkpoint reference = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            DiffReport d = CheckpointDiff.compare(reference, converted, true, Cancellation.NEVER);
            assertThat(d.identical()).as(d.toString()).isTrue();
        }
    }

    @Test
    void cancellingMidwayLeavesNothingBehind() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        ConvertViewModel vm = main.convert();
        vm.job().progressProperty().addListener((o, a, b) -> {
            if (b.doubleValue() > 0) {
                vm.job().cancel();
            }
        });
        vm.convertInto(out(), Layout.V5);
        assertThat(vm.job().getState()).isEqualTo(Job.State.CANCELLED);
        assertThat(vm.outputs()).isEmpty();
        try (Stream<Path> left = Files.list(out())) {
            assertThat(left).isEmpty();
        }
        assertThat(main.noticeProperty().get()).isNull();
        assertThat(vm.job().currentProperty().get()).isEqualTo("Cancelled — nothing written.");
        assertThat(vm.canConvertProperty().get()).isTrue();
    }

    @Test
    void aFolderWithoutRoomForWhatConvertWritesIsRefusedBeforeAnyWorkWithTheFigures() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        ConvertViewModel vm = main.convert();
        vm.setUsableSpace(folder -> 100 << 10); // a disk with 100 KiB free; the conversion writes 803 KiB
        vm.convertInto(out(), Layout.V5);
        assertThat(vm.job().getState()).isEqualTo(Job.State.IDLE);
        assertThat(vm.job().titleProperty().get()).isEmpty();
        try (Stream<Path> left = Files.list(out())) {
            assertThat(left).isEmpty();
        }
        String refusal = out() + ": Converting legacy-base to v5 needs 0.8 MiB free there, and its file system has 0.1 MiB; "
                + "free some space or choose another place.";
        assertThat(main.noticeProperty().get().kind()).isEqualTo(Notice.Kind.ERROR);
        assertThat(main.noticeProperty().get().text()).isEqualTo(refusal);
        assertThat(vm.outcomeTextProperty().get()).isEqualTo("Not converted: " + refusal);
        assertThat(vm.canConvertProperty().get()).isTrue();

        vm.setUsableSpace(folder -> 64L << 20);
        vm.convertInto(out(), Layout.V5);
        assertThat(vm.job().getState()).isEqualTo(Job.State.SUCCEEDED);
    }

    @Test
    void openingAnotherCheckpointForgetsTheLastConversionAndItsProgress() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        ConvertViewModel vm = main.convert();
        vm.convertInto(out(), Layout.V5);
        assertThat(vm.job().getState()).isEqualTo(Job.State.SUCCEEDED);
        main.open(List.of(Fixtures.tiny("v5-base.float32.safetensors")));
        assertThat(vm.job().getState()).isEqualTo(Job.State.IDLE);
        assertThat(vm.job().percentTextProperty().get()).isEmpty();
        assertThat(vm.job().getProgress()).isZero();
        assertThat(vm.outputs()).isEmpty();
        assertThat(vm.outcomeTextProperty().get()).isEmpty();
    }

    @Test
    void aSecondConversionGetsAFreshNameAndOpenOutputOpensIt() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        ConvertViewModel vm = main.convert();
        vm.convertInto(out(), Layout.V5);
        vm.convertInto(out(), Layout.V5);
        assertThat(vm.outputs()).containsExactly(out().resolve("legacy-base-v5-2"));
        vm.openOutput();
        assertThat(main.getWorkspace().model().location()).isEqualTo(out().resolve("legacy-base-v5"+"-2"));
        assertThat(main.getWorkspace().layout()).isEqualTo(Layout.V5);
    }

    @Test
    void askingForTheLayoutItIsAlreadyInIsRefusedWithASentence() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        main.convert().convertInto(out(), Layout.LEGACY);
        assertThat(main.convert().job().getState()).isEqualTo(Job.State.FAILED);
        assertThat(main.noticeProperty().get().text()).contains("is already in the legacy layout");
    }

    @Test
    void droppingALegacyCheckpointOnConvertToLegacyIsRefusedBeforeAskingForAFolder() throws Exception {
        main = Opened.empty(temp, dialogs);
        dialogs.answer(out());
        main.openAndConvert(List.of(Fixtures.tiny("legacy-base")), Layout.LEGACY);
        assertThat(dialogs.unanswered()).containsExactly(out());
        assertThat(main.convert().job().getState()).isEqualTo(Job.State.IDLE);
        assertThat(main.noticeProperty().get().kind()).isEqualTo(Notice.Kind.ERROR);
        assertThat(main.noticeProperty().get().text()).isEqualTo(
                "legacy-base is already in the legacy layout; drop it on “Convert to v5” to convert it.");
    }

    @Test
    void droppingOnConvertToV5OpensThenConvertsIntoTheChosenFolder() throws Exception {
        main = Opened.empty(temp, dialogs);
        dialogs.answer(out());
        main.openAndConvert(List.of(Fixtures.tiny("legacy-base")), Layout.V5);
        assertThat(main.convert().outputs()).containsExactly(out().resolve("legacy-base-v5"));
        assertThat(main.screenProperty().get()).isEqualTo(dev.fusebox.viewmodel.main.Screen.CONVERT);
    }

    @Test
    void theSamplesAdapterIsConvertedBesideItsBaseAsPeftWouldSaveIt() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        ConvertViewModel vm = main.convert();
        assertThat(vm.descriptionProperty().get()).endsWith("\nConvert legacy-lora-attn_experts, the LoRA adapter on "
                + "legacy-base, from legacy to v5: 24 tensors, 98.0 KiB, as legacy-lora-attn_experts-v5");
        vm.convertInto(out(), Layout.V5);
        assertThat(vm.job().getState()).isEqualTo(Job.State.SUCCEEDED);
        Path adapter = out().resolve("legacy-lora-attn_experts-v5");
        assertThat(vm.outputs()).containsExactly(out().resolve("legacy-base-v5"), adapter);
        assertThat(vm.outcomeTextProperty().get()).contains("Wrote 24 tensors, 98.0 KiB, to " + adapter)
                .doesNotContain("Not converted");
        try (Checkpoint written = Checkpoint.open(adapter);
             Checkpoint peft = Checkpoint.open(Fixtures.tiny("peft-saved-attn_experts"))) {
            assertThat(written.layout()).isEqualTo(Layout.V5);
            assertThat(written.tensors().keySet()).containsExactlyInAnyOrderElementsOf(peft.tensors().keySet());
            assertThat(written.adapterConfig().orElseThrow().targetParameters())
                    .containsExactlyInAnyOrder("gate_up_proj", "down_proj");
        }
    }

    @Test
    void mergingTheAdapterWritesTheModelPeftMergesAndNoAdapterBesideIt() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        ConvertViewModel vm = main.convert();
        assertThat(vm.canMergeAdapterProperty().get()).isTrue();
        assertThat(vm.canChooseDtypeProperty().get()).isTrue();
        vm.mergeAdapterProperty().set(true);
        assertThat(vm.canChooseDtypeProperty().get()).isFalse();
        assertThat(vm.descriptionProperty().get()).isEqualTo("Convert legacy-base with legacy-lora-attn_experts "
                + "merged in, from legacy to v5: 21 tensors, 803 KiB, as legacy-base-merged-v5");
        vm.convertInto(out(), Layout.V5);
        assertThat(vm.job().getState()).as(vm.outcomeTextProperty().get()).isEqualTo(Job.State.SUCCEEDED);
        Path merged = out().resolve("legacy-base-merged-v5");
        assertThat(vm.outputs()).containsExactly(merged);
        try (Checkpoint written = Checkpoint.open(merged);
             Checkpoint peft = Checkpoint.open(Fixtures.tiny("v5-merged-attn_experts.float32.safetensors"))) {
            DiffReport d = CheckpointDiff.compare(peft, written, true, Cancellation.NEVER);
            assertThat(d.onlyInA()).isEmpty();
            assertThat(d.onlyInB()).isEmpty();
            assertThat(d.changed()).isEmpty();
            // PEFT merges in the legacy layout, this in the fused one: the same sums, rounded apart by at most an ulp.
            assertThat(d.values().orElseThrow()).allSatisfy(v -> assertThat(v.maxAbsDiff()).isLessThan(1e-5));
        }
        vm.verifyOutput();
        assertThat(main.verify().passedProperty().get()).as(main.verify().verdictProperty().get()).isTrue();
        assertThat(main.verify().reportProperty().get().converted().adapter()).isEmpty();
        assertThat(main.verify().reportProperty().get().source().adapter()).isPresent();
    }

    @Test
    void theAdapterIsWrittenInTheDtypeChosen() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        ConvertViewModel vm = main.convert();
        vm.adapterDtypeProperty().set(Dtype.BF16);
        vm.convertInto(out(), Layout.V5);
        assertThat(vm.job().getState()).as(vm.outcomeTextProperty().get()).isEqualTo(Job.State.SUCCEEDED);
        try (Checkpoint model = Checkpoint.open(out().resolve("legacy-base-v5"));
             Checkpoint adapter = Checkpoint.open(out().resolve("legacy-lora-attn_experts-v5"))) {
            assertThat(adapter.specs()).isNotEmpty().allSatisfy(t -> assertThat(t.dtype()).isEqualTo(Dtype.BF16));
            assertThat(model.specs()).allSatisfy(t -> assertThat(t.dtype()).isEqualTo(Dtype.F32));
        }
    }

    @Test
    void aSmallShardSizeSplitsTheModelIntoShardsOfAtMostThatSize() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        ConvertViewModel vm = main.convert();
        vm.maxShardSizeProperty().set("lots");
        assertThat(vm.shardSizeProblemProperty().get())
                .isEqualTo("The largest shard must be a size such as 5GB, 500MB or 2GiB, not 'lots'.");
        assertThat(vm.canConvertProperty().get()).isFalse();
        vm.maxShardSizeProperty().set("200KiB");
        assertThat(vm.shardSizeProblemProperty().get()).isEmpty();
        assertThat(vm.canConvertProperty().get()).isTrue();
        vm.convertInto(out(), Layout.V5);
        assertThat(vm.job().getState()).as(vm.outcomeTextProperty().get()).isEqualTo(Job.State.SUCCEEDED);
        List<Path> shards;
        try (Stream<Path> files = Files.list(out().resolve("legacy-base-v5"))) {
            shards = files.filter(f -> f.toString().endsWith(".safetensors")).toList();
        }
        assertThat(shards).hasSizeGreaterThan(1);
        for (Path shard : shards) {
            try (Checkpoint c = Checkpoint.open(shard)) {
                long bytes = c.specs().stream().mapToLong(t -> t.byteSize()).sum();
                assertThat(bytes <= 200 << 10 || c.specs().size() == 1).as(shard + ": " + bytes).isTrue();
            }
        }
        try (Checkpoint converted = Checkpoint.open(out().resolve("legacy-base-v5"));
             Checkpoint reference = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            assertThat(CheckpointDiff.compare(reference, converted, true, Cancellation.NEVER).identical()).isTrue();
        }
    }

    @Test
    void dequantizingAnFp8ModelWritesTheDenseWeightsTransformersHoldsOnCpu() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        assertThat(main.convert().canDequantizeProperty().get()).isFalse();
        main.open(List.of(Fixtures.fp8("legacy")));
        ConvertViewModel vm = main.convert();
        assertThat(vm.canDequantizeProperty().get()).isTrue();
        assertThat(vm.canMergeAdapterProperty().get()).isFalse();
        vm.dequantizeProperty().set(true);
        vm.convertInto(out(), Layout.V5);
        assertThat(vm.job().getState()).as(vm.outcomeTextProperty().get()).isEqualTo(Job.State.SUCCEEDED);
        try (Checkpoint converted = Checkpoint.open(vm.outputs().getFirst());
             Checkpoint expected = Checkpoint.open(Fixtures.fp8("dequantized.safetensors"))) {
            assertThat(CheckpointDiff.compare(expected, converted, true, Cancellation.NEVER).identical()).isTrue();
        }
        main.open(List.of(Fixtures.tiny("legacy-base")));
        assertThat(vm.dequantizeProperty().get()).isFalse();
    }

    @Test
    void aCacheSnapshotsOutputIsNamedByItsModelNotItsRevision() throws Exception {
        Path snapshot = CacheSnapshot.of(temp.resolve("hub"), "fusebox-test/mixtral-tiny",
                "1111111111111111111111111111111111111111", Fixtures.tiny("legacy-base"));
        try (Checkpoint c = Checkpoint.open(snapshot)) {
            assertThat(ConvertViewModel.outputName(c, Layout.V5)).isEqualTo("mixtral-tiny-v5");
        }
        main = Opened.empty(temp, dialogs);
    }

    @Test
    void outputNamesKeepASingleFilesExtension() throws FuseboxException {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            assertThat(ConvertViewModel.outputName(c, Layout.LEGACY)).isEqualTo("v5-base.float32-legacy.safetensors");
        }
        main = Opened.empty(temp, dialogs);
    }
}
