package dev.fusebox.viewmodel.verify;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.forward.ModelDims;
import dev.fusebox.converter.forward.VerificationReport;
import dev.fusebox.testsupport.Fixtures;
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
    void theTokensAndLayersTypedAreTheOnesVerified() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        VerifyViewModel vm = main.verify();
        vm.tokensProperty().set("1, 7,42");
        vm.layerCountProperty().set("1");
        assertThat(vm.optionsProblemProperty().get()).isEmpty();
        vm.verify();
        assertThat(vm.passedProperty().get()).as(vm.verdictProperty().get()).isTrue();
        assertThat(vm.reportProperty().get().tokens()).containsExactly(1, 7, 42);
        assertThat(vm.reportProperty().get().layersRun()).isEqualTo(1);
        assertThat(vm.positions()).hasSize(3);
        assertThat(vm.layers()).hasSize(1);
    }

    @Test
    void tokensOrLayersThatAreNotNumbersDisableVerifyWithASentence() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("legacy-base"));
        VerifyViewModel vm = main.verify();
        vm.tokensProperty().set("1, two");
        assertThat(vm.optionsProblemProperty().get())
                .isEqualTo("Tokens are ids separated by commas, e.g. 1, 2, 3, not '1, two'.");
        assertThat(vm.canVerifyProperty().get()).isFalse();
        vm.tokensProperty().set("");
        vm.layerCountProperty().set("0");
        assertThat(vm.optionsProblemProperty().get())
                .isEqualTo("Layers is how many of the first layers to run, a positive number, not '0'.");
        assertThat(vm.canVerifyProperty().get()).isFalse();
        vm.layerCountProperty().set("");
        assertThat(vm.canVerifyProperty().get()).isTrue();
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
        assertThat(vm.againstProperty().get()).startsWith("Verify runs the forward pass and the expert check on "
                + "legacy-base + legacy-lora-attn_experts and their conversion to v5");
        vm.verify();
        assertThat(vm.passedProperty().get()).as(vm.verdictProperty().get()).isTrue();
        VerificationReport r = vm.reportProperty().get();
        assertThat(r.source().adapter()).hasValueSatisfying(a ->
                assertThat(a.getFileName().toString()).isEqualTo("legacy-lora-attn_experts"));
        assertThat(r.converted().adapter()).hasValueSatisfying(a -> assertThat(a).doesNotExist());
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(vm.detailsProperty().get()).endsWith(" · the adapter applied on both sides");
        assertThat(vm.checksProperty().get()).isEqualTo("Checks run: forward pass and expert check");
        assertThat(vm.experts()).hasSize(8).allSatisfy(e -> assertThat(e.passed()).isTrue());
    }

    @Test
    void aQwen2MoeWithItsAdapterVerifiesOnTheFlyWithTheAdapterOnBothSides() {
        Path reference = Path.of("..", "converter", "src", "test", "resources", "dev", "fusebox", "converter",
                "forward", "qwen2_moe");
        main = Opened.with(temp, dialogs, reference.resolve("legacy-base"), reference.resolve("legacy-adapter"));
        VerifyViewModel vm = main.verify();
        assertThat(vm.canVerifyProperty().get()).as(vm.againstProperty().get()).isTrue();
        assertThat(vm.againstProperty().get()).startsWith("Verify runs the forward pass and the expert check on "
                + "legacy-base + legacy-adapter and their conversion to v5");
        vm.verify();
        assertThat(vm.passedProperty().get()).as(vm.verdictProperty().get()).isTrue();
        assertThat(vm.reportProperty().get().maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(vm.detailsProperty().get()).endsWith(" · the adapter applied on both sides");
    }

    @Test
    void aModelWithoutAForwardPassGetsTheExpertCheckAndTheScreenSaysSo() throws Exception {
        main = Opened.with(temp, dialogs, flexOlmoModel());
        VerifyViewModel vm = main.verify();
        assertThat(vm.canVerifyProperty().get()).isTrue();
        assertThat(vm.againstProperty().get()).startsWith("Verify runs the expert check on flex_olmo");
        vm.verify();
        assertThat(vm.passedProperty().get()).as(vm.verdictProperty().get()).isTrue();
        assertThat(vm.checksProperty().get()).isEqualTo("Checks run: expert check (the forward pass implements "
                + ModelDims.FAMILIES + " only)");
        assertThat(ModelDims.FAMILIES).startsWith("Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE, GLM-4-MoE")
                .contains("HunYuan-MoE", "DeepSeek-V3");
        assertThat(vm.experts()).hasSize(8);
        assertThat(vm.positions()).isEmpty();
        assertThat(vm.reportProperty().get().converted().throughPlan()).isTrue();
    }

    /** The tiny Mixtral under flex_olmo's keys: mlp.gate, and experts.N.gate_proj / up_proj / down_proj. */
    private Path flexOlmoModel() throws Exception {
        Path model = Files.createDirectories(temp.resolve("flex_olmo"));
        Files.writeString(model.resolve("config.json"), Files.readString(Fixtures.tiny("legacy-base")
                .resolve("config.json")).replace("\"mixtral\"", "\"flex_olmo\""));
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            java.util.function.UnaryOperator<String> key = k -> k.replace(".block_sparse_moe.", ".mlp.")
                    .replace(".w1.", ".gate_proj.").replace(".w3.", ".up_proj.").replace(".w2.", ".down_proj.");
            java.util.List<TensorSpec> specs = c.specs().stream().map(t -> new TensorSpec(key.apply(t.key()),
                    t.dtype(), t.shape())).toList();
            try (SafetensorsWriter w = SafetensorsWriter.create(model.resolve("model.safetensors"),
                    java.util.Map.of("format", "pt"), specs)) {
                for (StoredTensor t : c.tensors().values()) {
                    w.write(t.data());
                }
                w.commit();
            }
        }
        return model;
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
    void aCheckpointWithoutAConfigIsRefusedBeforeAnyWorkSayingWhy() {
        main = Opened.with(temp, dialogs, Fixtures.tiny("v5-base.float32.safetensors"));
        VerifyViewModel vm = main.verify();
        assertThat(vm.canVerifyProperty().get()).isFalse();
        assertThat(vm.againstProperty().get()).isEqualTo("Verify cannot check v5-base.float32.safetensors: it has "
                + "no config.json, and the checks build the model from one; open the folder that holds the "
                + "checkpoint with its config.json.");
        vm.verify();
        assertThat(vm.job().getState()).isEqualTo(Job.State.IDLE);
        assertThat(vm.passedProperty().get()).isNull();
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
                .isEqualTo("reads the conversion through its plan, written nowhere (the adapter goes to a temporary folder)");
        main.close();
        main.open(List.of(Fixtures.tiny("legacy-base")));
        assertThat(vm.usingProperty().get())
                .isEqualTo("reads the conversion through its plan, written nowhere");
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
