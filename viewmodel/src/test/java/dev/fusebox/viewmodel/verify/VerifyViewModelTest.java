package dev.fusebox.viewmodel.verify;

import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.forward.VerificationReport;
import dev.fusebox.viewmodel.Fixtures;
import dev.fusebox.viewmodel.main.FakeDialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.Opened;
import dev.fusebox.viewmodel.main.Screen;
import dev.fusebox.viewmodel.task.Job;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class VerifyViewModelTest {

    @TempDir
    Path temp;

    private final FakeDialogs dialogs = new FakeDialogs();
    private MainViewModel main;

    @AfterEach
    void close() {
        main.close();
    }

    @Test
    void beforeAnythingIsWrittenVerifyConvertsForThePurposeAndPasses() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        VerifyViewModel vm = main.verify();
        assertThat(vm.canVerifyProperty().get()).isTrue();
        vm.verify();
        assertThat(vm.job().getState()).as(vm.verdictProperty().get()).isEqualTo(Job.State.SUCCEEDED);
        assertThat(vm.passedProperty().get()).isTrue();
        assertThat(vm.verdictProperty().get()).startsWith("Passed: ");
        assertThat(vm.layers()).hasSize(2);
        assertThat(vm.layers()).allSatisfy(l -> assertThat(l.maxAbsDiff()).isZero());
        assertThat(vm.positions()).hasSize(16).allSatisfy(p -> {
            assertThat(p.top1Agrees()).isTrue();
            assertThat(p.sourceTop5()).isEqualTo(p.convertedTop5()).matches("\\d+( \\d+){4}");
            assertThat(p.sourceLogits()).isEqualTo(p.convertedLogits());
        });
        assertThat(vm.reportProperty().get().converted().layout()).isEqualTo(Layout.V5);
    }

    @Test
    void afterConvertVerifyUsesWhatWasWritten() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        Path out = Files.createDirectories(temp.resolve("out"));
        main.convert().convertInto(out, Layout.V5);
        main.convert().verifyOutput();
        assertThat(main.screenProperty().get()).isEqualTo(Screen.VERIFY);
        VerifyViewModel vm = main.verify();
        assertThat(vm.passedProperty().get()).isTrue();
        assertThat(vm.reportProperty().get().converted().model()).isEqualTo(out.resolve("legacy-base-v5"));
    }

    @Test
    void aV5CheckpointIsVerifiedAgainstItsLegacyConversion() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        Path out = Files.createDirectories(temp.resolve("out"));
        main.convert().convertInto(out, Layout.V5);
        main.convert().openOutput();
        assertThat(main.getWorkspace().layout()).isEqualTo(Layout.V5);
        main.verify().verify();
        assertThat(main.verify().passedProperty().get()).as(main.verify().verdictProperty().get()).isTrue();
        assertThat(main.verify().reportProperty().get().converted().layout()).isEqualTo(Layout.LEGACY);
    }

    @Test
    void theSampleWithItsAdapterVerifiesOnTheFlyWithTheAdapterOnBothSides() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        VerifyViewModel vm = main.verify();
        assertThat(vm.againstProperty().get()).startsWith("Verify runs legacy-base + legacy-lora-attn_experts and "
                + "their conversion to v5");
        vm.verify();
        assertThat(vm.passedProperty().get()).as(vm.verdictProperty().get()).isTrue();
        VerificationReport r = vm.reportProperty().get();
        assertThat(r.source().adapter()).hasValueSatisfying(a ->
                assertThat(a.getFileName().toString()).isEqualTo("legacy-lora-attn_experts"));
        assertThat(r.converted().adapter()).hasValueSatisfying(a -> assertThat(a).doesNotExist());
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(vm.detailsProperty().get()).endsWith(" · the adapter applied on both sides");
    }

    @Test
    void afterConvertingTheSampleVerifyAppliesTheWrittenAdapter() throws Exception {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        Path out = Files.createDirectories(temp.resolve("out"));
        main.convert().convertInto(out, Layout.V5);
        main.convert().verifyOutput();
        VerificationReport r = main.verify().reportProperty().get();
        assertThat(main.verify().passedProperty().get()).as(main.verify().verdictProperty().get()).isTrue();
        assertThat(r.converted().adapter()).contains(out.resolve("legacy-lora-attn_experts-v5"));
        assertThat(r.source().adapter()).isPresent();
    }

    @Test
    void aCheckpointTheForwardPassCannotReadGetsASentenceNotAVerdict() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("v5-base.float32.safetensors"));
        main.verify().verify();
        assertThat(main.verify().passedProperty().get()).isNull();
        assertThat(main.verify().verdictProperty().get()).startsWith("Could not verify: ");
    }

    @Test
    void cancellingStopsWithoutAVerdict() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        VerifyViewModel vm = main.verify();
        vm.job().progressProperty().addListener((o, a, b) -> {
            if (b.doubleValue() > 0.6) {
                vm.job().cancel();
            }
        });
        vm.verify();
        assertThat(vm.job().getState()).isEqualTo(Job.State.CANCELLED);
        assertThat(vm.passedProperty().get()).isNull();
    }

    @Test
    void whatVerifyComparesWithNamesTheAdapterOnlyWhenOneIsOpen() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        VerifyViewModel vm = main.verify();
        assertThat(vm.usingProperty().get())
                .isEqualTo("converts (the adapter too) to a temporary folder first, then compares; nothing is kept");
        main.close();
        main.open(List.of(Fixtures.tiny("legacy-base")));
        assertThat(vm.usingProperty().get())
                .isEqualTo("converts to a temporary folder first, then compares; nothing is kept");
    }

    @Test
    void openingAnotherCheckpointForgetsTheLastVerificationAndItsProgress() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        VerifyViewModel vm = main.verify();
        vm.verify();
        assertThat(vm.job().getState()).isEqualTo(Job.State.SUCCEEDED);
        main.open(List.of(Fixtures.tiny("v5-base.float32.safetensors")));
        assertThat(vm.job().getState()).isEqualTo(Job.State.IDLE);
        assertThat(vm.job().getProgress()).isZero();
        assertThat(vm.passedProperty().get()).isNull();
    }
}
