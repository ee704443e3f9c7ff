package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.fusebox.converter.TestCheckpoints.f32;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * qwen3_vl_moe keeps its expert tensors under the v5 names in both layouts; transformers 4.x stored them transposed
 * (gate_up_proj [E, H, 2I], down_proj [E, I, H]) and v5 holds [E, 2I, H] and [E, H, I], so only the shapes against
 * config.json's text_config tell the layout. The expected bytes here are worked out element by element from the
 * input, independently of the planner.
 */
class Qwen3VlMoeConversionTest {

    private static final int E = 3;
    private static final String LM = "model.language_model.";
    private static final String[] VISION = {"model.visual.patch_embed.proj.weight",
            "model.visual.blocks.0.mlp.linear_fc1.weight", "model.visual.merger.linear_fc2.weight"};

    @TempDir
    Path dir;

    /** text_config as 4.x writes it ({@code num_experts}) or as v5 does ({@code num_local_experts}). */
    static Map<String, Object> config(int h, int i, boolean v5Spelling) {
        return Map.of("text_config", Map.of("hidden_size", h, "moe_intermediate_size", i,
                v5Spelling ? "num_local_experts" : "num_experts", E, "model_type", "qwen3_vl_moe_text"),
                "vision_config", Map.of("hidden_size", 4, "model_type", "qwen3_vl_moe_vision"));
    }

    private static String experts(int layer, String name) {
        return LM + "layers." + layer + ".mlp.experts." + name;
    }

    /** A checkpoint of 2 layers: the expert tensors in the 4.x shapes, or the v5 ones, and what both layouts share. */
    static List<TensorSpec> checkpoint(int h, int i, boolean v5) {
        List<TensorSpec> out = new ArrayList<>(shared(h));
        for (int l = 0; l < 2; l++) {
            out.add(v5 ? f32(experts(l, "gate_up_proj"), E, 2L * i, h) : f32(experts(l, "gate_up_proj"), E, h, 2L * i));
            out.add(v5 ? f32(experts(l, "down_proj"), E, h, i) : f32(experts(l, "down_proj"), E, i, h));
        }
        return out;
    }

    private static List<TensorSpec> shared(int h) {
        List<TensorSpec> out = new ArrayList<>(List.of(f32("lm_head.weight", 32, h), f32(LM + "embed_tokens.weight", 32, h),
                f32(LM + "norm.weight", h), f32(VISION[0], 4, 3, 2, 4, 4), f32(VISION[1], 8, 4), f32(VISION[2], h, 8)));
        for (int l = 0; l < 2; l++) {
            out.add(f32(LM + "layers." + l + ".self_attn.q_proj.weight", h, h));
            out.add(f32(LM + "layers." + l + ".mlp.gate.weight", E, h));
        }
        return out;
    }

    /** The bytes of float32 tensor {@code t} [E, a, b] with its last two axes swapped, element by element. */
    private static byte[] transposed(TensorSpec t) {
        byte[] in = TestCheckpoints.bytes(t);
        long[] d = t.shape().dims();
        int a = (int) d[1];
        int b = (int) d[2];
        byte[] out = new byte[in.length];
        for (int e = 0; e < d[0]; e++) {
            for (int x = 0; x < a; x++) {
                for (int y = 0; y < b; y++) {
                    System.arraycopy(in, ((e * a + x) * b + y) * 4, out, ((e * b + y) * a + x) * 4, 4);
                }
            }
        }
        return out;
    }

    private static byte[] bytes(Checkpoint c, String key) throws Exception {
        return c.tensor(key).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE);
    }

    private static void convert(Checkpoint c, ConversionPlan plan, Path out) throws Exception {
        PlanExecutor.execute(c, plan, out, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
    }

    /** Converts {@code from} (written with {@code config}) and checks every tensor against {@code expected}. */
    private void convertsTransposingTheExperts(List<TensorSpec> from, Map<String, Object> config, Layout layout,
                                               List<TensorSpec> expected) throws Exception {
        Path in = TestCheckpoints.write(dir.resolve("in"), "qwen3_vl_moe", config, from);
        Path out = dir.resolve("out");
        Path back = dir.resolve("back");
        try (Checkpoint c = Checkpoint.open(in)) {
            assertThat(c.layout()).isEqualTo(layout);
            ConversionPlan plan = Planner.plan(c, RuleBook.bundled(), Optional.empty());
            assertThat(plan.to()).isEqualTo(layout.other());
            assertThat(plan.targetSpecs()).containsExactlyElementsOf(expected);
            // transformers' own Transpose(1, 2) toward v5, and its reverse_op, Transpose(2, 1), back
            String transpose = layout == Layout.LEGACY ? "transpose(1, 2)" : "transpose(2, 1)";
            for (PlannedTarget t : plan.targets()) {
                boolean expert = t.key().contains(".mlp.experts.");
                assertThat(t.operations()).as(t.key()).isEqualTo(expert ? List.of(transpose) : List.of());
                assertThat(t.sources()).extracting(TensorSpec::key).containsExactly(t.key());
            }
            convert(c, plan, out);
        }
        try (Checkpoint c = Checkpoint.open(out)) {
            assertThat(c.layout()).isEqualTo(layout.other());
            for (TensorSpec t : from) {
                assertThat(bytes(c, t.key())).as(t.key()).isEqualTo(t.key().contains(".mlp.experts.")
                        ? transposed(t) : TestCheckpoints.bytes(t));
            }
            convert(c, Planner.plan(c, RuleBook.bundled(), Optional.empty()), back);
        }
        try (Checkpoint c = Checkpoint.open(back)) {
            assertThat(c.specs()).containsExactlyElementsOf(from);
            for (TensorSpec t : from) {
                assertThat(bytes(c, t.key())).as(t.key()).isEqualTo(TestCheckpoints.bytes(t));
            }
        }
    }

    @Test
    void a4xCheckpointIsLegacyAndConvertsToV5WithEveryExpertTensorTransposedAndBackByteForByte() throws Exception {
        convertsTransposingTheExperts(checkpoint(8, 6, false), config(8, 6, false), Layout.LEGACY,
                checkpoint(8, 6, true));
    }

    @Test
    void aV5CheckpointAsTransformers5SavesItConvertsToThe4xLayoutAndBack() throws Exception {
        convertsTransposingTheExperts(checkpoint(8, 6, true), config(8, 6, true), Layout.V5, checkpoint(8, 6, false));
    }

    /** hidden 12 = 2 × 6: gate_up_proj is [3, 12, 12] either way, and down_proj [3, 6, 12] says legacy. */
    @Test
    void aGateUpOfTheSameShapeInBothLayoutsFollowsTheDownProjectionWithAWarning() throws Exception {
        convertsTransposingTheExperts(checkpoint(12, 6, false), config(12, 6, false), Layout.LEGACY,
                checkpoint(12, 6, true));
        try (Checkpoint c = Checkpoint.open(dir.resolve("in"))) {
            assertThat(Planner.plan(c, RuleBook.bundled(), Optional.empty()).warnings()).singleElement()
                    .asString().contains("'" + experts(0, "gate_up_proj") + "' has the shape [3, 12, 12] in both "
                            + "layouts", "read as legacy, as '" + experts(0, "down_proj") + "' shows",
                            "transformers would load it untransposed");
        }
    }

    /** hidden 6 = moe_intermediate 6: down_proj is [3, 6, 6] either way, and gate_up_proj [3, 12, 6] says v5. */
    @Test
    void aDownProjectionOfTheSameShapeInBothLayoutsFollowsTheGateUp() throws Exception {
        convertsTransposingTheExperts(checkpoint(6, 6, true), config(6, 6, true), Layout.V5, checkpoint(6, 6, false));
    }

    private void assertRefused(List<TensorSpec> tensors, Map<String, Object> config, Optional<Layout> to,
                               Problem problem, String key, String... message) throws Exception {
        Path in = TestCheckpoints.write(dir.resolve("refused"), "qwen3_vl_moe", config, tensors);
        try (Checkpoint c = Checkpoint.open(in)) {
            assertThat(c.layout()).isEqualTo(Layout.UNKNOWN);
            assertThatThrownBy(() -> Planner.plan(c, RuleBook.bundled(), to))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(problem);
                        if (key != null) {
                            assertThat(e.key()).contains(key);
                        }
                        assertThat(e.getMessage()).contains(message);
                    });
        }
    }

    /** A shard that holds only square gate_up tensors: nothing tells the layout, and --to cannot either. */
    @Test
    void whenEveryShapeFitsBothLayoutsTheCheckpointIsRefusedAndToCannotDecide() throws Exception {
        List<TensorSpec> shard = List.of(f32(experts(0, "gate_up_proj"), E, 12, 12),
                f32(experts(1, "gate_up_proj"), E, 12, 12));
        for (Optional<Layout> to : List.of(Optional.<Layout>empty(), Optional.of(Layout.V5))) {
            assertRefused(shard, config(12, 6, false), to, Problem.AMBIGUOUS_LAYOUT, experts(0, "gate_up_proj"),
                    "its shape [3, 12, 12] is the same in the legacy layout", "the layout asked for is the one to "
                            + "write, not the one it is in, so it cannot decide", "open the whole checkpoint");
        }
    }

    /** config.json says moe_intermediate_size 5, the weights have 6: neither [3, 10, 8] nor [3, 8, 10]. */
    @Test
    void aShapeThatFitsNeitherLayoutIsRefusedNamingTheKeyItsShapeAndBothExpectedShapes() throws Exception {
        assertRefused(checkpoint(8, 6, false), config(8, 5, false), Optional.empty(), Problem.SHAPE_MISMATCH,
                experts(0, "gate_up_proj"), "its shape is [3, 8, 12], but config.json makes it [3, 10, 8] in the v5 "
                        + "layout or [3, 8, 10] in the legacy one", "2*text_config.moe_intermediate_size");
    }

    @Test
    void whenConfigJsonLacksASizeTheShapesCannotBeReadAndThePlanSaysWhich() throws Exception {
        Map<String, Object> noHidden = Map.of("text_config", Map.of("moe_intermediate_size", 6, "num_experts", E));
        assertRefused(checkpoint(8, 6, false), noHidden, Optional.empty(), Problem.INVALID_CONFIG,
                experts(0, "gate_up_proj"), "tell its layout by its shape", "config.json gives no text_config.hidden_size");
        Map<String, Object> noExperts = Map.of("text_config", Map.of("hidden_size", 8, "moe_intermediate_size", 6));
        assertRefused(checkpoint(8, 6, false), noExperts, Optional.empty(), Problem.INVALID_CONFIG,
                experts(0, "gate_up_proj"), "config.json gives no text_config.num_experts or text_config.num_local_experts");
    }

    @Test
    void aCheckpointWithOneLayerConvertedAndOneNotIsRefusedAsHalfConverted() throws Exception {
        List<TensorSpec> half = new ArrayList<>(shared(8));
        half.add(f32(experts(0, "gate_up_proj"), E, 8, 12));
        half.add(f32(experts(0, "down_proj"), E, 6, 8));
        half.add(f32(experts(1, "gate_up_proj"), E, 12, 8));
        half.add(f32(experts(1, "down_proj"), E, 8, 6));
        assertRefused(half, config(8, 6, false), Optional.empty(), Problem.MIXED_LAYOUT, null,
                "'" + experts(0, "gate_up_proj") + "' (legacy) and '" + experts(1, "gate_up_proj") + "' (v5)");
    }

    @Test
    void aV5CheckpointAskedForV5IsAlreadyConverted() throws Exception {
        Path in = TestCheckpoints.write(dir.resolve("v5"), "qwen3_vl_moe", config(8, 6, true), checkpoint(8, 6, true));
        try (Checkpoint c = Checkpoint.open(in)) {
            assertThatThrownBy(() -> Planner.plan(c, RuleBook.bundled(), Optional.of(Layout.V5)))
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.ALREADY_CONVERTED))
                    .hasMessageContaining("already in the v5 layout (for example '" + experts(0, "gate_up_proj") + "')");
        }
    }
}
