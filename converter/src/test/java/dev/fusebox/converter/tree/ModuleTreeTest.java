package dev.fusebox.converter.tree;

import dev.fusebox.converter.Fixtures;
import dev.fusebox.converter.MixtralShapes;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.safetensors.Dtype;
import dev.fusebox.converter.safetensors.Shape;
import dev.fusebox.converter.safetensors.TensorSpec;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class ModuleTreeTest {

    @Test
    void theTinyLegacyTreeIsWhatTransformers457Prints() throws Exception {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            String tree = TorchRepr.print(ModuleTreeBuilder.build(c.specs(), c.modelType(), c.config()));
            assertThat(tree).isEqualTo(Files.readString(Fixtures.tiny("legacy-tree.txt")));
        }
    }

    @Test
    void theTinyV5TreeIsWhatTransformers517Prints() throws Exception {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            String tree = TorchRepr.print(ModuleTreeBuilder.build(c.specs(), c.modelType(), c.config()));
            assertThat(tree).isEqualTo(Files.readString(Fixtures.tiny("v5-tree.txt")));
        }
    }

    @Test
    void theSeedShapeTreesMatchBothTransformersVersions() throws Exception {
        Optional<ModelConfig> cfg = Optional.of(ModelConfig.read(Fixtures.seed("config.json")));
        String legacy = TorchRepr.print(ModuleTreeBuilder.build(MixtralShapes.SEED.legacy(Dtype.BF16), "mixtral", cfg));
        String v5 = TorchRepr.print(ModuleTreeBuilder.build(MixtralShapes.SEED.v5(Dtype.BF16), "mixtral", cfg));
        assertThat(legacy).isEqualTo(Files.readString(Fixtures.seed("legacy-tree.txt")));
        assertThat(v5).isEqualTo(Files.readString(Fixtures.seed("v5-tree.txt")));
    }

    @Test
    void nodesKeepTheirTensorsForTheViews() throws Exception {
        ModuleNode root = ModuleTreeBuilder.build(MixtralShapes.TINY.v5(Dtype.F32), "mixtral", Optional.empty());
        ModuleNode experts = root.find("model.layers.1.mlp.experts");
        assertThat(experts.className()).isEqualTo("MixtralExperts");
        assertThat(experts.parameters()).containsOnlyKeys("gate_up_proj", "down_proj");
        assertThat(experts.parameters().get("gate_up_proj").shape()).isEqualTo(Shape.of(4, 192, 64));
        assertThat(root.find("model.layers.1").allTensors()).hasSize(9);
    }

    @Test
    void differingLayersAreNotFolded() {
        List<TensorSpec> specs = new java.util.ArrayList<>(MixtralShapes.TINY.legacy(Dtype.F32));
        specs.removeIf(t -> t.key().startsWith("model.layers.1.block_sparse_moe.experts.3."));
        String tree = TorchRepr.print(ModuleTreeBuilder.build(specs, "mixtral", Optional.empty()));
        assertThat(tree).contains("(0): MixtralDecoderLayer(", "(1): MixtralDecoderLayer(", "(0-3): 4 x Mixtral",
                "(0-2): 3 x Mixtral");
    }

    @Test
    void otherFamiliesGetAGenericTreeWithFoldedLayers() {
        List<TensorSpec> specs = new java.util.ArrayList<>();
        for (int l = 0; l < 3; l++) {
            String p = "model.layers." + l + ".";
            specs.add(new TensorSpec(p + "self_attn.q_proj.weight", Dtype.BF16, Shape.of(32, 32)));
            specs.add(new TensorSpec(p + "self_attn.q_proj.bias", Dtype.BF16, Shape.of(32)));
            specs.add(new TensorSpec(p + "input_layernorm.weight", Dtype.BF16, Shape.of(32)));
            for (int e = 0; e < 2; e++) {
                specs.add(new TensorSpec(p + "mlp.experts." + e + ".gate_proj.weight", Dtype.BF16, Shape.of(8, 32)));
            }
        }
        specs.add(new TensorSpec("model.embed_tokens.weight", Dtype.BF16, Shape.of(100, 32)));
        String tree = TorchRepr.print(ModuleTreeBuilder.build(specs, "qwen2_moe", Optional.empty()));
        assertThat(tree).isEqualTo("""
                Qwen2MoeForCausalLM(
                  (model): Qwen2MoeModel(
                    (layers): ModuleList(
                      (0-2): 3 x Qwen2MoeDecoderLayer(
                        (self_attn): Qwen2MoeSelfAttn(
                          (q_proj): Linear(in_features=32, out_features=32, bias=True)
                        )
                        (input_layernorm): Qwen2MoeRMSNorm((32,), eps=1e-06)
                        (mlp): Qwen2MoeMlp(
                          (experts): ModuleList(
                            (0-1): 2 x Qwen2MoeExpert(
                              (gate_proj): Linear(in_features=32, out_features=8, bias=False)
                            )
                          )
                        )
                      )
                    )
                    (embed_tokens): Embedding(100, 32)
                  )
                )
                """);
    }

    @Test
    void aKeyOfThousandsOfDotsNestsNoDeeperThanTheLimitAndKeepsItsPath() {
        String modulePath = String.join(".", java.util.Collections.nCopies(20_000, "a"));
        ModuleNode root = ModuleTreeBuilder.build(List.of(new TensorSpec(modulePath + ".weight", Dtype.U8,
                Shape.of(1))), "unknown", Optional.empty());
        ModuleNode n = root;
        int depth = 0;
        while (!n.children().isEmpty()) {
            n = n.children().getFirst();
            depth++;
        }
        assertThat(depth).isEqualTo(ModuleTreeBuilder.DEEPEST);
        assertThat(n.path()).isEqualTo(modulePath);
        assertThat(n.name()).hasSize(modulePath.length() - 2 * (ModuleTreeBuilder.DEEPEST - 1));
        assertThat(n.parameters()).containsKey("weight");
        assertThat(TorchRepr.print(root).lines()).hasSize(2 * ModuleTreeBuilder.DEEPEST + 1);
    }

    @Test
    void pythonFloatReprMatchesPython() {
        assertThat(PythonFloat.repr(1e-5)).isEqualTo("1e-05");
        assertThat(PythonFloat.repr(1e-6)).isEqualTo("1e-06");
        assertThat(PythonFloat.repr(1.5e-6)).isEqualTo("1.5e-06");
        assertThat(PythonFloat.repr(0.0001)).isEqualTo("0.0001");
        assertThat(PythonFloat.repr(1000000.0)).isEqualTo("1000000.0");
        assertThat(PythonFloat.repr(1e16)).isEqualTo("1e+16");
        assertThat(PythonFloat.repr(0.1)).isEqualTo("0.1");
        assertThat(PythonFloat.repr(123.456)).isEqualTo("123.456");
        assertThat(PythonFloat.repr(-2.0)).isEqualTo("-2.0");
    }
}
