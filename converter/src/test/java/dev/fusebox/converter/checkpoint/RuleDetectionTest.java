package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.TestCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.fusebox.converter.TestCheckpoints.f32;
import static org.assertj.core.api.Assertions.assertThat;

/** Families whose keys the Mixtral-style heuristics cannot read are told by their rules. */
class RuleDetectionTest {

    @TempDir
    Path dir;

    @Test
    void granitemoeWithItsStackedExpertsIsLegacyBeforeRenamingAndV5After() throws Exception {
        Path legacy = TestCheckpoints.write(dir.resolve("legacy"), null, Map.of(), List.of(
                f32("model.layers.0.block_sparse_moe.input_linear.weight", 2, 8, 4),
                f32("model.layers.0.block_sparse_moe.output_linear.weight", 2, 4, 4),
                f32("model.layers.0.block_sparse_moe.router.layer.weight", 2, 4)));
        try (Checkpoint c = Checkpoint.open(legacy)) {
            assertThat(c.modelType()).isEqualTo("granitemoe");
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
        }
        Path v5 = TestCheckpoints.write(dir.resolve("v5"), "granitemoeshared", Map.of(), List.of(
                f32("model.layers.0.block_sparse_moe.experts.gate_up_proj", 2, 8, 4),
                f32("model.layers.0.block_sparse_moe.router.weight", 2, 4)));
        try (Checkpoint c = Checkpoint.open(v5)) {
            assertThat(c.modelType()).isEqualTo("granitemoeshared");
            assertThat(c.ruleSet().orElseThrow().family()).isEqualTo("granitemoe");
            assertThat(c.layout()).isEqualTo(Layout.V5);
        }
    }

    @Test
    void hyV4WithStackedExpertsIsToldByItsRenamings() throws Exception {
        Path legacy = TestCheckpoints.write(dir.resolve("legacy"), "hy_v4", Map.of(), List.of(
                f32("model.layers.0.mlp.experts.gate_up_proj", 2, 8, 4),
                f32("model.layers.0.hc_attn_layer.hc_fn", 2, 4),
                f32("model.hc_head.hc_head_fn", 2, 4)));
        try (Checkpoint c = Checkpoint.open(legacy)) {
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
        }
        Path v5 = TestCheckpoints.write(dir.resolve("v5"), "hy_v4", Map.of(), List.of(
                f32("model.layers.0.mlp.experts.gate_up_proj", 2, 8, 4),
                f32("model.layers.0.attn_hc.fn", 2, 4),
                f32("model.hc_head.hc_fn", 2, 4)));
        try (Checkpoint c = Checkpoint.open(v5)) {
            assertThat(c.layout()).isEqualTo(Layout.V5);
        }
    }

    @Test
    void aQwenStyleCheckpointWithoutConfigIsGuessedFromItsKeys() throws Exception {
        Path legacy = TestCheckpoints.write(dir.resolve("q"), null, Map.of(), List.of(
                f32("model.layers.0.mlp.experts.0.gate_proj.weight", 4, 4),
                f32("model.layers.0.mlp.experts.0.up_proj.weight", 4, 4),
                f32("model.layers.0.mlp.experts.0.down_proj.weight", 4, 4),
                f32("model.layers.0.mlp.shared_expert.gate_proj.weight", 4, 4)));
        try (Checkpoint c = Checkpoint.open(legacy)) {
            assertThat(c.modelType()).isEqualTo("qwen2_moe");
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
        }
    }
}
