package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

import static dev.fusebox.converter.TestCheckpoints.f32;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every refusal happens at plan time, before a byte is written, with the offending key named. */
class PlanRefusalTest {

    private static final String L0 = "model.layers.0.block_sparse_moe.experts.";

    @TempDir
    Path dir;

    private static List<TensorSpec> mixtral() {
        return new ArrayList<>(FamilyCase.of("mixtral", FamilyCase.mixtral("gate"), new String[0][]).legacy());
    }

    private static List<TensorSpec> without(List<TensorSpec> specs, String key) {
        List<TensorSpec> out = new ArrayList<>(specs);
        assertThat(out.removeIf(s -> s.key().equals(key))).as(key).isTrue();
        return out;
    }

    private static List<TensorSpec> replaced(List<TensorSpec> specs, String key, UnaryOperator<TensorSpec> change) {
        return specs.stream().map(s -> s.key().equals(key) ? change.apply(s) : s).toList();
    }

    private void assertRefused(List<TensorSpec> tensors, Map<String, Object> config, Optional<Layout> to,
                               Problem problem, String key, String message) throws Exception {
        Path ckpt = TestCheckpoints.write(dir.resolve("ckpt"), "mixtral", config, tensors);
        assertRefused(ckpt, RuleBook.bundled(), to, problem, key, message);
    }

    private static void assertRefused(Path ckpt, RuleBook rules, Optional<Layout> to, Problem problem, String key,
                                      String message) throws Exception {
        try (Checkpoint c = Checkpoint.open(ckpt, rules)) {
            assertThatThrownBy(() -> Planner.plan(c, rules, to))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(problem);
                        if (key != null) {
                            assertThat(e.key()).contains(key);
                        }
                    })
                    .hasMessageContaining(message);
        }
    }

    @Test
    void aGapInTheExpertsIsAMissingExpert() throws Exception {
        List<TensorSpec> t = without(without(without(mixtral(), L0 + "1.w1.weight"), L0 + "1.w2.weight"),
                L0 + "1.w3.weight");
        assertRefused(t, Map.of(), Optional.empty(), Problem.MISSING_EXPERT, L0 + "1.w1.weight",
                "expert 1 is missing (found 2 experts, numbered 0 to 2); experts must be numbered 0, 1, 2, … without gaps");
    }

    @Test
    void anExpertWithoutItsPartnerIsAMissingExpert() throws Exception {
        assertRefused(without(mixtral(), L0 + "2.w3.weight"), Map.of(), Optional.empty(), Problem.MISSING_EXPERT,
                L0 + "2.w3.weight", "expert 2 has '" + L0 + "2.w1.weight' but not this partner");
    }

    @Test
    void fewerExpertsThanTheConfigDeclaresIsAMissingExpert() throws Exception {
        assertRefused(mixtral(), Map.of("num_local_experts", 4), Optional.empty(), Problem.MISSING_EXPERT,
                L0 + "3.w1.weight", "config.json declares 4 experts");
    }

    @Test
    void moreExpertsThanTheConfigDeclaresIsAnExtraExpert() throws Exception {
        assertRefused(mixtral(), Map.of("num_local_experts", 2), Optional.empty(), Problem.EXTRA_EXPERT,
                L0 + "2.w1.weight", "it is expert 2, but config.json declares 2 experts");
    }

    @Test
    void anExpertOfAnotherShapeIsRagged() throws Exception {
        List<TensorSpec> t = replaced(mixtral(), L0 + "1.w1.weight", s -> f32(s.key(), 7, FamilyCase.H));
        assertRefused(t, Map.of(), Optional.empty(), Problem.RAGGED_SHAPES, L0 + "1.w1.weight",
                "its shape is [7, 8] but '" + L0 + "0.w1.weight' is [6, 8]");
    }

    @Test
    void gateAndUpOfDifferentWidthsAreRaggedBecauseChunkCouldNotSplitThemAgain() throws Exception {
        List<TensorSpec> t = mixtral().stream()
                .map(s -> s.key().endsWith(".w3.weight") ? f32(s.key(), 4, FamilyCase.H) : s).toList();
        assertRefused(t, Map.of(), Optional.empty(), Problem.RAGGED_SHAPES, null,
                "concat(dim=1) joins equal parts only, so that chunk can split them again");
    }

    @Test
    void expertsOfMixedDtypesAreRefused() throws Exception {
        List<TensorSpec> t = replaced(mixtral(), L0 + "1.w3.weight", s -> new TensorSpec(s.key(), Dtype.BF16, s.shape()));
        assertRefused(t, Map.of(), Optional.empty(), Problem.MIXED_DTYPES, L0 + "1.w3.weight",
                "it is BF16 but '" + L0 + "0.w1.weight' is F32");
    }

    @Test
    void aKeyTwoRulesTakeIsRefused() throws Exception {
        Path rules = dir.resolve("greedy.json");
        Files.writeString(rules, """
                {"family": "greedy", "model_types": ["greedy"], "extends": "mixtral",
                 "converters": [{"sources": "experts.*.w1.weight", "targets": "experts.w1",
                                 "operations": [{"op": "stack", "dim": 0}]}]}
                """);
        Path ckpt = TestCheckpoints.write(dir.resolve("ckpt"), "greedy", Map.of(), mixtral());
        assertRefused(ckpt, RuleBook.bundled().withFiles(List.of(rules)), Optional.empty(), Problem.AMBIGUOUS_RULES,
                L0 + "0.w1.weight", "two rules of greedy rules");
    }

    @Test
    void aCheckpointAlreadyInTheLayoutAskedForHasNothingToConvert() throws Exception {
        assertRefused(Fixtures.tiny("v5-base.float32.safetensors"), RuleBook.bundled(), Optional.of(Layout.V5),
                Problem.ALREADY_CONVERTED, null, "is already in the v5 layout");
        assertRefused(Fixtures.tiny("legacy-base"), RuleBook.bundled(), Optional.of(Layout.LEGACY),
                Problem.ALREADY_CONVERTED, null, "is already in the legacy layout");
    }

    @Test
    void aHalfConvertedCheckpointIsRefused() throws Exception {
        List<TensorSpec> t = mixtral();
        t.add(f32("model.layers.1.mlp.experts.down_proj", 3, 8, 6));
        assertRefused(t, Map.of(), Optional.empty(), Problem.MIXED_LAYOUT, null, "holds keys of both layouts");
    }

    @Test
    void aModelTypeWithoutRulesIsRefused() throws Exception {
        Path ckpt = TestCheckpoints.write(dir.resolve("llama"), "llama", Map.of(),
                List.of(f32("model.layers.0.mlp.up_proj.weight", 4, 4)));
        assertRefused(ckpt, RuleBook.bundled(), Optional.empty(), Problem.NO_RULES, null,
                "has the model type 'llama', for which Fusebox has no conversion rules");
        // The app shows the sentence too: the remedy is named apart, and the CLI adds its flag.
        try (Checkpoint c = Checkpoint.open(ckpt, RuleBook.bundled())) {
            assertThatThrownBy(() -> Planner.plan(c, RuleBook.bundled(), Optional.empty()))
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.remedy()).contains(Remedy.RULE_FILE))
                    .message().doesNotContain("--");
        }
    }

    @Test
    void aCheckpointWithoutExpertsHasNothingToConvert() throws Exception {
        assertRefused(List.of(f32("model.embed_tokens.weight", 4, 4)), Map.of(), Optional.empty(),
                Problem.MIXED_LAYOUT, null, "has no key that the mixtral rules convert in either direction");
    }

    @Test
    void twoTensorsThatWouldShareAKeyAreRefused() throws Exception {
        List<TensorSpec> t = mixtral();
        t.add(f32("model.layers.0.mlp.gate.weight", 3, 8));
        assertRefused(t, Map.of(), Optional.empty(), Problem.KEY_COLLISION, null,
                "it would be written as 'model.layers.0.mlp.gate.weight'");
    }

    @Test
    void aV5TensorWithFewerExpertsThanTheConfigIsRefusedOnTheWayBack() throws Exception {
        List<TensorSpec> t = List.of(f32("model.layers.0.mlp.experts.gate_up_proj", 3, 12, 8),
                f32("model.layers.0.mlp.experts.down_proj", 3, 8, 6), f32("model.layers.0.mlp.gate.weight", 3, 8));
        assertRefused(t, Map.of("num_local_experts", 4), Optional.empty(), Problem.MISSING_EXPERT,
                "model.layers.0.mlp.experts.gate_up_proj", "it holds 3 experts along axis 0, but config.json declares 4");
    }

    @Test
    void aMultiSourceRuleMissingOneSourceIsRefused() throws Exception {
        Path rules = dir.resolve("qk.json");
        Files.writeString(rules, """
                {"family": "qk", "model_types": ["qk"],
                 "converters": [{"sources": ["self_attn.q_proj.weight", "self_attn.k_proj.weight"],
                                 "targets": "self_attn.qk_proj.weight", "operations": [{"op": "concat", "dim": 0}]}]}
                """);
        Path ckpt = TestCheckpoints.write(dir.resolve("qk"), "qk", Map.of(),
                List.of(f32("model.layers.0.self_attn.q_proj.weight", 4, 4)));
        assertRefused(ckpt, RuleBook.bundled().withFiles(List.of(rules)), Optional.empty(), Problem.MISSING_TENSOR,
                "model.layers.0.self_attn.q_proj.weight", "joins it with 'model.layers.0.self_attn.k_proj.weight'");
    }

    @Test
    void anAdapterIsNotConvertedAsAModel() throws Exception {
        assertRefused(Fixtures.tiny("legacy-lora-experts_gate"), RuleBook.bundled(), Optional.empty(),
                Problem.UNSUPPORTED, null, "is a LoRA adapter");
    }

    @Test
    void aRuleThatCannotApplyToTheShapesIsRefusedNamingTheRule() throws Exception {
        Path rules = dir.resolve("odd.json");
        Files.writeString(rules, """
                {"family": "odd", "model_types": ["odd"],
                 "converters": [{"sources": "mlp.w13.weight", "targets": "mlp.gate_up.weight",
                                 "operations": [{"op": "interleave", "dim": 0}]}]}
                """);
        Path ckpt = TestCheckpoints.write(dir.resolve("odd"), "odd", Map.of(),
                List.of(new TensorSpec("model.layers.0.mlp.w13.weight", Dtype.F32, Shape.of(5, 4))));
        assertRefused(ckpt, RuleBook.bundled().withFiles(List.of(rules)), Optional.empty(), Problem.RAGGED_SHAPES,
                "model.layers.0.mlp.w13.weight", "interleave(dim=0) needs an even size, but the shape is [5, 4]");
    }
}
