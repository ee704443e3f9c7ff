package dev.fusebox.converter.tree;

import dev.fusebox.converter.MixtralShapes;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class ModuleTreeTest {

    @Test
    void theTinyLegacyTreeIsWhatTransformers457Prints() throws Exception {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            String tree = print(c.specs(), c.modelType(), c.config(), c.layout());
            assertThat(tree).isEqualTo(Files.readString(Fixtures.tiny("legacy-tree.txt")));
        }
    }

    @Test
    void theTinyV5TreeIsWhatTransformers517Prints() throws Exception {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            String tree = print(c.specs(), c.modelType(), c.config(), c.layout());
            assertThat(tree).isEqualTo(Files.readString(Fixtures.tiny("v5-tree.txt")));
        }
    }

    @Test
    void theSeedShapeTreesMatchBothTransformersVersions() throws Exception {
        Optional<ModelConfig> cfg = Optional.of(ModelConfig.read(Fixtures.seed("config.json")));
        String legacy = print(MixtralShapes.SEED.legacy(Dtype.BF16), "mixtral", cfg, Layout.LEGACY);
        String v5 = print(MixtralShapes.SEED.v5(Dtype.BF16), "mixtral", cfg, Layout.V5);
        assertThat(legacy).isEqualTo(Files.readString(Fixtures.seed("legacy-tree.txt")));
        assertThat(v5).isEqualTo(Files.readString(Fixtures.seed("v5-tree.txt")));
    }

    @Test
    void nodesKeepTheirTensorsForTheViews() throws Exception {
        ModuleNode root = ModuleTreeBuilder.build(MixtralShapes.TINY.v5(Dtype.F32), "mixtral", Optional.empty(),
                Layout.V5).root();
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
        String tree = print(specs, "mixtral", Optional.empty(), Layout.LEGACY);
        assertThat(tree).contains("(0): MixtralDecoderLayer(", "(1): MixtralDecoderLayer(", "(0-3): 4 x Mixtral",
                "(0-2): 3 x Mixtral");
    }

    @Test
    void aTypeWithoutTemplateGetsTheKeyTreeWithoutClassNames() {
        List<TensorSpec> specs = new java.util.ArrayList<>();
        for (int l = 0; l < 3; l++) {
            specs.add(new TensorSpec("model.layers." + l + ".attn.q.weight", Dtype.BF16, Shape.of(32, 32)));
            specs.add(new TensorSpec("model.layers." + l + ".norm.weight", Dtype.BF16, Shape.of(32)));
        }
        specs.add(new TensorSpec("model.embed.weight", Dtype.BF16, Shape.of(100, 32)));
        ModuleTree tree = ModuleTreeBuilder.build(specs, "nonesuch_moe", Optional.empty(), Layout.V5);
        assertThat(tree.exact()).isFalse();
        assertThat(tree.description()).startsWith("from the keys");
        assertThat(TorchRepr.print(tree.root())).isEqualTo("""
                (
                  (model): (
                    (layers): (
                      (0-2): 3 x (
                        (attn): (
                          (q): (weight [32, 32])
                        )
                        (norm): (weight [32])
                      )
                    )
                    (embed): (weight [100, 32])
                  )
                )
                """);
    }

    @Test
    void oneShardAloneKeepsTheClassesOfTheModulesItHoldsPartOf() {
        List<TensorSpec> specs = new java.util.ArrayList<>(MixtralShapes.TINY.legacy(Dtype.F32));
        specs.removeIf(t -> !t.key().startsWith("model.layers.1.") || t.key().contains("layernorm"));
        ModuleTree tree = ModuleTreeBuilder.build(specs, "mixtral", Optional.empty(), Layout.LEGACY);
        assertThat(tree.exact()).isFalse();
        assertThat(tree.description()).endsWith("where the keys match its modules, the rest from the keys");
        assertThat(TorchRepr.print(tree.root())).isEqualTo("""
                MixtralForCausalLM(
                  (model): MixtralModel(
                    (layers): ModuleList(
                      (1): MixtralDecoderLayer(
                        (self_attn): MixtralAttention(
                          (q_proj): Linear(in_features=64, out_features=64, bias=False)
                          (k_proj): Linear(in_features=64, out_features=32, bias=False)
                          (v_proj): Linear(in_features=64, out_features=32, bias=False)
                          (o_proj): Linear(in_features=64, out_features=64, bias=False)
                        )
                        (block_sparse_moe): MixtralSparseMoeBlock(
                          (gate): Linear(in_features=64, out_features=4, bias=False)
                          (experts): ModuleList(
                            (0-3): 4 x MixtralBlockSparseTop2MLP(
                              (w1): Linear(in_features=64, out_features=96, bias=False)
                              (w2): Linear(in_features=96, out_features=64, bias=False)
                              (w3): Linear(in_features=64, out_features=96, bias=False)
                              (act_fn): SiLUActivation()
                            )
                          )
                        )
                      )
                    )
                  )
                )
                """);
    }

    @Test
    void aKeyTransformersDropsLeavesTheRestOfTheTreeAsTransformersPrintsIt() {
        // Real checkpoints carry keys their model never loads (an MTP layer, an old rotary inv_freq buffer).
        List<TensorSpec> specs = new java.util.ArrayList<>(MixtralShapes.TINY.v5(Dtype.F32));
        specs.add(new TensorSpec("model.layers.0.self_attn.rotary_emb.inv_freq", Dtype.F32, Shape.of(8)));
        specs.add(new TensorSpec("model.mtp.proj.weight", Dtype.F32, Shape.of(64, 128)));
        ModuleTree tree = ModuleTreeBuilder.build(specs, "mixtral", Optional.empty(), Layout.V5);
        assertThat(tree.exact()).isFalse();
        assertThat(tree.description()).endsWith("the rest from the keys");
        String text = TorchRepr.print(tree.root());
        assertThat(text).startsWith("MixtralForCausalLM(\n  (model): MixtralModel(\n")
                .contains("(self_attn): MixtralAttention(", "(rotary_emb): (inv_freq [8])", "(mtp): (\n",
                        "(proj): (weight [64, 128])", "(experts): MixtralExperts(",
                        "(lm_head): Linear(in_features=64, out_features=256, bias=False)");
    }

    @Test
    void aKeySegmentSpelledLikeTheTemplatesIndexIsNoIndex() {
        List<TensorSpec> specs = new java.util.ArrayList<>(MixtralShapes.TINY.v5(Dtype.F32));
        specs.replaceAll(t -> new TensorSpec(t.key().replace("layers.1.", "layers.#."), t.dtype(), t.shape()));
        ModuleTree tree = ModuleTreeBuilder.build(specs, "mixtral", Optional.empty(), Layout.V5);
        assertThat(tree.exact()).isFalse();
        assertThat(TorchRepr.print(tree.root())).contains("    (layers): (\n", "(#): (\n");
    }

    @Test
    void aV5OnlyTypesLegacyKeysGetV5ClassesAboveTheirPerExpertModules() {
        // minimax_m2's legacy layout is mixtral's (block_sparse_moe, w1/w2/w3), which transformers 4.x never built
        List<TensorSpec> specs = MixtralShapes.TINY.legacy(Dtype.F32);
        ModuleTree tree = ModuleTreeBuilder.build(specs, "minimax_m2", Optional.empty(), Layout.LEGACY);
        assertThat(tree.exact()).isFalse();
        assertThat(tree.description()).startsWith("the per-expert tree the legacy files imply");
        assertThat(TorchRepr.print(tree.root())).contains("MiniMaxM2ForCausalLM(", "(self_attn): MiniMaxM2Attention(",
                "(input_layernorm): MiniMaxM2RMSNorm((64,), eps=1e-06)", "(block_sparse_moe): (\n",
                "(0-3): 4 x (\n", "(w1): (weight [96, 64])");
    }

    @Test
    void aKeyOfThousandsOfDotsNestsNoDeeperThanTheLimitAndKeepsItsPath() {
        String modulePath = String.join(".", java.util.Collections.nCopies(20_000, "a"));
        ModuleNode root = ModuleTreeBuilder.build(List.of(new TensorSpec(modulePath + ".weight", Dtype.U8,
                Shape.of(1))), "unknown", Optional.empty(), Layout.UNKNOWN).root();
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

    private static String print(List<TensorSpec> specs, String modelType, Optional<ModelConfig> config, Layout layout) {
        return TorchRepr.print(ModuleTreeBuilder.build(specs, modelType, config, layout).root());
    }
}
