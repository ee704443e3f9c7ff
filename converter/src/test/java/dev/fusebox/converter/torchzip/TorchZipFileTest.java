package dev.fusebox.converter.torchzip;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.convert.OutputGuard;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.PlanExecutor;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.safetensors.SafetensorsFile;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.converter.tensor.TensorFile;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** torch.save files written by the real torch (make_bin_files.py) read byte for byte like their safetensors twins. */
class TorchZipFileTest {

    @TempDir
    Path dir;

    static Path resource(String name) {
        try {
            return Path.of(TorchZipFileTest.class.getResource(name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static void assertSameTensors(TensorFile actual, TensorFile expected) throws Exception {
        assertThat(actual.tensors()).extracting(TensorEntry::key)
                .containsExactlyInAnyOrderElementsOf(expected.tensors().stream().map(TensorEntry::key).toList());
        for (TensorEntry e : expected.tensors()) {
            TensorEntry a = actual.tensor(e.key()).orElseThrow();
            assertThat(a.spec()).as(e.key()).isEqualTo(e.spec());
            assertThat(actual.data(a).mismatch(expected.data(e))).as(e.key()).isEqualTo(-1L);
        }
    }

    @Test
    void aPeftAdapterSavedAsBinHoldsTheSameBytesAsItsSafetensors() throws Exception {
        try (TorchZipFile bin = TorchZipFile.open(resource("attn_experts.adapter_model.bin"));
             SafetensorsFile st = SafetensorsFile.open(Fixtures.tiny("legacy-lora-attn_experts/adapter_model.safetensors"))) {
            assertThat(bin.tensors()).hasSize(64);
            assertSameTensors(bin, st);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"variants.bin", "variants-zip64.bin"})
    void everyDtypeViewParameterScalarAndEmptyTensorReadsAsTorchWroteIt(String name) throws Exception {
        try (TorchZipFile bin = TorchZipFile.open(resource(name));
             SafetensorsFile st = SafetensorsFile.open(resource("variants.safetensors"))) {
            assertSameTensors(bin, st);
        }
    }

    @Test
    void viewsOfOneStorageAreByteRangesOfItsRecordAtTheirOffsets() throws Exception {
        try (TorchZipFile bin = TorchZipFile.open(resource("variants.bin"))) {
            TensorEntry head = bin.tensor("view.head").orElseThrow();
            TensorEntry middle = bin.tensor("view.middle").orElseThrow();
            TensorEntry tail = bin.tensor("view.tail").orElseThrow();
            assertThat(middle.begin()).isEqualTo(head.begin() + 4 * 4);
            assertThat(tail.begin()).isEqualTo(head.begin() + 6 * 4);
            assertThat(bin.fileOffset(tail)).isEqualTo(tail.begin());
            assertThat(bin.tensors()).isSortedAccordingTo(java.util.Comparator.comparingLong(TensorEntry::begin));
        }
    }

    @Test
    void anAdapterDirectoryWithOnlyABinOpensLikeTheSafetensorsOne() throws Exception {
        Path adapter = Files.createDirectory(dir.resolve("adapter"));
        Files.copy(Fixtures.tiny("legacy-lora-attn_experts/adapter_config.json"), adapter.resolve("adapter_config.json"));
        Files.copy(resource("attn_experts.adapter_model.bin"), adapter.resolve("adapter_model.bin"));
        try (Checkpoint bin = Checkpoint.open(adapter);
             Checkpoint st = Checkpoint.open(Fixtures.tiny("legacy-lora-attn_experts"))) {
            assertThat(bin.kind()).isEqualTo(CheckpointKind.ADAPTER);
            assertThat(bin.layout()).isEqualTo(Layout.LEGACY);
            assertThat(bin.adapterConfig().orElseThrow().r()).isEqualTo(4);
            assertThat(bin.files().getFirst()).isInstanceOf(TorchZipFile.class);
            assertThat(bin.specs()).containsExactlyInAnyOrderElementsOf(st.specs());
            assertThat(bin.companionFiles()).isEmpty();
            for (StoredTensor t : st.tensors().values()) {
                assertThat(bin.tensor(t.key()).orElseThrow().data().mismatch(t.data())).isEqualTo(-1L);
            }
        }
    }

    @Test
    void theBinFileItselfOpensAsAnAdapter() throws Exception {
        Path file = dir.resolve("adapter_model.bin");
        Files.copy(resource("attn_experts.adapter_model.bin"), file);
        try (Checkpoint c = Checkpoint.open(file)) {
            assertThat(c.kind()).isEqualTo(CheckpointKind.ADAPTER);
            assertThat(c.tensors()).hasSize(64);
        }
    }

    @Test
    void aModelDirectoryWithOnlyPytorchModelBinOpensAsAModel() throws Exception {
        Path model = Files.createDirectory(dir.resolve("model"));
        Files.copy(resource("variants.bin"), model.resolve("pytorch_model.bin"));
        try (Checkpoint c = Checkpoint.open(model)) {
            assertThat(c.kind()).isEqualTo(CheckpointKind.MODEL);
            assertThat(c.tensors()).containsKey("bf16");
        }
    }

    @Test
    void aPytorchModelBinConvertsToTheV5LayoutByteForByte() throws Exception {
        Path model = Files.createDirectory(dir.resolve("legacy"));
        Files.copy(Fixtures.tiny("legacy-base/config.json"), model.resolve("config.json"));
        Files.copy(resource("legacy-base.pytorch_model.bin"), model.resolve("pytorch_model.bin"));
        try (Checkpoint c = Checkpoint.open(model)) {
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
        }
        assertConvertsToTheV5Fixture(model);
    }

    @Test
    void pytorchModelBinShardsThroughTheirIndexConvertToTheV5LayoutByteForByte() throws Exception {
        Path model = shardedLegacyBase();
        try (Checkpoint c = Checkpoint.open(model)) {
            assertThat(c.kind()).isEqualTo(CheckpointKind.MODEL);
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
            assertThat(c.files()).hasSize(2).allSatisfy(f -> assertThat(f).isInstanceOf(TorchZipFile.class));
            assertThat(c.companionFiles()).extracting(p -> p.getFileName().toString()).containsExactly("config.json");
        }
        assertConvertsToTheV5Fixture(model);
    }

    @Test
    void aBinShardTheIndexDoesNotPlaceIsRefusedNamingTheTensor() throws Exception {
        Path model = shardedLegacyBase();
        Path index = model.resolve(Checkpoint.MODEL_WEIGHTS_BIN_INDEX);
        Files.writeString(index, Files.readString(index).replace(
                "\"lm_head.weight\": \"pytorch_model-00001-of-00002.bin\"",
                "\"lm_head.weight\": \"pytorch_model-00002-of-00002.bin\""));
        assertThatThrownBy(() -> Checkpoint.open(model)).isInstanceOf(FuseboxException.class)
                .hasMessageContaining("lm_head.weight").hasMessageContaining("pytorch_model-00002-of-00002.bin");
    }

    /** The tiny legacy base as torch.save shards with their index, and its config. */
    private Path shardedLegacyBase() throws Exception {
        Path model = Files.createDirectory(dir.resolve("sharded"));
        Files.copy(Fixtures.tiny("legacy-base/config.json"), model.resolve("config.json"));
        try (var shards = Files.list(resource("sharded-legacy-base"))) {
            for (Path p : shards.toList()) {
                Files.copy(p, model.resolve(p.getFileName()));
            }
        }
        return model;
    }

    /** Converts {@code model} to v5 and finds the state dict transformers builds, byte for byte, and nothing else. */
    private void assertConvertsToTheV5Fixture(Path model) throws Exception {
        Path out = dir.resolve("v5");
        try (Checkpoint c = Checkpoint.open(model)) {
            PlanExecutor.execute(c, Planner.plan(c, RuleBook.bundled(), Optional.empty()), out,
                    ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        try (Checkpoint converted = Checkpoint.open(out);
             Checkpoint reference = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            assertThat(converted.specs()).containsExactlyInAnyOrderElementsOf(reference.specs());
            for (StoredTensor t : reference.tensors().values()) {
                assertThat(converted.tensor(t.key()).orElseThrow().data().mismatch(t.data())).isEqualTo(-1L);
            }
        }
        try (var written = Files.list(out)) {
            assertThat(written.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("config.json",
                    "model.safetensors", OutputGuard.MARKER);
        }
    }
}
