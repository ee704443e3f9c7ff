package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.MixtralShapes;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CheckpointTest {

    @TempDir
    Path tmp;

    @Test
    void anAdapterWhoseBaseHasAMalformedConfigIsRefusedNotLeftWithoutAFamily() throws Exception {
        Path adapter = Files.createDirectories(tmp.resolve("adapter"));
        Path from = Fixtures.tiny("legacy-lora-experts_gate");
        for (String f : new String[] {Checkpoint.ADAPTER_CONFIG, Checkpoint.ADAPTER_WEIGHTS}) {
            Files.copy(from.resolve(f), adapter.resolve(f));
        }
        // adapter_config.json names "legacy-base", a folder beside the adapter
        Path baseConfig = Files.createDirectories(tmp.resolve("legacy-base")).resolve(Checkpoint.CONFIG);
        Files.writeString(baseConfig, "{\"model_type\": \"mixtral\",");
        assertThatThrownBy(() -> Checkpoint.open(adapter).close())
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.INVALID_CONFIG);
                    assertThat(e.file()).contains(baseConfig);
                });
    }

    @Test
    void theLegacyBaseListsEveryTensorItsConfigImplies() throws Exception {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            assertThat(c.kind()).isEqualTo(CheckpointKind.MODEL);
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
            assertThat(c.modelType()).isEqualTo("mixtral");
            assertThat(c.specs()).containsExactlyInAnyOrderElementsOf(MixtralShapes.TINY.legacy(Dtype.F32));
        }
    }

    @Test
    void theV5BaseListsEveryTensorTransformersBuilt() throws Exception {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            assertThat(c.kind()).isEqualTo(CheckpointKind.MODEL);
            assertThat(c.layout()).isEqualTo(Layout.V5);
            assertThat(c.config()).isEmpty();
            assertThat(c.modelType()).isEqualTo("mixtral");
            assertThat(c.specs()).containsExactlyInAnyOrderElementsOf(MixtralShapes.TINY.v5(Dtype.F32));
            assertThat(c.specs()).containsExactlyInAnyOrderElementsOf(
                    StateDictShapes.read(Fixtures.tiny("v5-state-dict-shapes.json"), Dtype.F32));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"legacy-lora-attn_experts", "legacy-lora-attn_experts_rslora",
            "legacy-lora-experts_gate", "legacy-lora-experts_gate_rslora"})
    void legacyAdapterDirectoriesAreDetectedWithTheirBase(String name) throws Exception {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny(name))) {
            assertThat(c.kind()).isEqualTo(CheckpointKind.ADAPTER);
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
            assertThat(c.adapterConfig()).get().satisfies(a -> {
                assertThat(a.r()).isEqualTo(4);
                assertThat(a.loraAlpha()).isEqualTo(8.0);
                assertThat(a.useRslora()).isEqualTo(name.endsWith("rslora"));
            });
            assertThat(c.baseModelDirectory()).contains(Fixtures.tiny("legacy-base").toAbsolutePath().normalize());
            assertThat(c.modelType()).isEqualTo("mixtral");
            assertThat(c.tensors().keySet()).allMatch(k -> k.startsWith("base_model.model.") && k.contains(".lora_"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"peft-saved-attn_experts", "peft-saved-attn_experts_rslora",
            "peft-saved-attn_experts_rslora-alpha-fixed", "peft-saved-experts_gate",
            "peft-saved-experts_gate_rslora", "peft-saved-experts_gate_rslora-alpha-fixed"})
    void adaptersPeftWroteForV5AreDetectedAsV5(String name) throws Exception {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny(name))) {
            assertThat(c.kind()).isEqualTo(CheckpointKind.ADAPTER);
            assertThat(c.layout()).isEqualTo(Layout.V5);
            assertThat(c.adapterConfig().orElseThrow().targetParameters()).contains("gate_up_proj", "down_proj");
            assertThat(c.tensor("base_model.model.model.layers.0.mlp.experts.base_layer.lora_A.weight"))
                    .get().satisfies(t -> assertThat(t.shape()).isEqualTo(Shape.of(32, 64)));
        }
    }

    @Test
    void aSingleAdapterFileIsAnAdapterToo() throws Exception {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-lora-experts_gate/adapter_model.safetensors"))) {
            assertThat(c.kind()).isEqualTo(CheckpointKind.ADAPTER);
            assertThat(c.adapterConfig()).isPresent();
        }
    }

    @Test
    void theLegacyConfigIsReadWithFourXSpellings() throws Exception {
        ModelConfig cfg = ModelConfig.read(Fixtures.tiny("legacy-base/config.json"));
        assertThat(cfg.ropeTheta()).hasValue(1e6);
        assertThat(cfg.dtype()).contains(Dtype.F32);
        assertThat(cfg.numExperts()).hasValue(4);
        assertThat(cfg.headDim()).hasValue(16);
        assertThat(cfg.numKeyValueHeads()).hasValue(2);
        assertThat(cfg.rmsNormEps()).hasValue(1e-5);
    }

    @Test
    void theV5ConfigIsReadWithItsRopeParametersAndDtype() throws Exception {
        ModelConfig cfg = ModelConfig.read(Fixtures.tiny("v5-save_pretrained/config.json"));
        assertThat(cfg.raw().has("rope_theta")).isFalse();
        assertThat(cfg.ropeTheta()).hasValue(1e6);
        assertThat(cfg.dtype()).isPresent();
        assertThat(cfg.modelType()).contains("mixtral");
    }

    @Test
    void tensorSpecsCarryByteSizes() {
        TensorSpec t = new TensorSpec("x", Dtype.BF16, Shape.of(8, 3584, 1024));
        assertThat(t.byteSize()).isEqualTo(8L * 3584 * 1024 * 2);
    }

    static Path fixture(String name) {
        return Fixtures.tiny(name);
    }
}
