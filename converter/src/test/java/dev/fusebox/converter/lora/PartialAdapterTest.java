package dev.fusebox.converter.lora;

import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Adapters PEFT 0.21 refuses or gets wrong on v5 — w1 without w3, some experts or layers only, dropout, per-module
 * ranks and alphas, saved modules — converted exactly. "Exactly" is checked by merging: the converted adapter merged
 * into the v5 base must equal the legacy adapter merged into the legacy base and converted, and converting back
 * must give the legacy file again, byte for byte.
 */
class PartialAdapterTest {

    private static final String L0 = "base_model.model.model.layers.0.block_sparse_moe.experts.";

    @TempDir
    Path tmp;

    @Test
    void w1WithoutW3BecomesAFusedWrapperWhoseUpRowsAreZero() throws Exception {
        Path legacy = synthetic("experts_gate").drop(k -> k.contains(".w3.")).config(c -> {
            c.putArray("target_modules").add("w1").add("w2").add("gate");
        }).write(tmp.resolve("w1-only"));
        AdapterPlan plan = AdapterFixtures.plan(legacy, Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("w1 without w3"));
        assertThat(plan.plan().warnings()).anyMatch(w -> w.contains("no expert has a w3 LoRA"));
        Path v5 = convert(legacy, "v5");
        try (Checkpoint c = Checkpoint.open(v5)) {
            StoredTensor b = c.tensor("base_model.model.model.layers.0.mlp.experts.base_layer.lora_B.weight")
                    .orElseThrow();
            assertThat(b.shape().dims()).containsExactly(192, 16);
            for (long i = 96 * 16; i < 192 * 16; i++) {
                assertThat(FloatCodec.get(b.data(), Dtype.F32, i)).isZero();
            }
        }
        assertThat(rankOf(v5, "model.layers.0.mlp.experts.gate_up_proj")).isEqualTo(4);
        assertMeansTheSame(legacy, v5);
        assertRoundTrip(legacy, v5);
    }

    @Test
    void expertsWithoutLoraBecomeZeroBlocksAndComeBackAbsent() throws Exception {
        Path legacy = synthetic("attn_experts").drop(k -> k.startsWith(L0 + "1.") || k.startsWith(L0 + "3."))
                .write(tmp.resolve("some-experts"));
        AdapterPlan plan = AdapterFixtures.plan(legacy, Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("experts [1, 3]") && r.contains("size"));
        assertThat(plan.plan().warnings()).anyMatch(w -> w.contains("no w1 LoRA for experts [1, 3]"));
        Path v5 = convert(legacy, "v5");
        try (Checkpoint c = Checkpoint.open(v5)) {
            StoredTensor a = c.tensor("base_model.model.model.layers.0.mlp.experts.base_layer.lora_A.weight")
                    .orElseThrow();
            for (long i = 8 * 64; i < 16 * 64; i++) {
                assertThat(FloatCodec.get(a.data(), Dtype.F32, i)).as("expert 1's rows").isZero();
            }
        }
        assertMeansTheSame(legacy, v5);
        assertRoundTrip(legacy, v5);
    }

    @Test
    void anAdapterOfOneLayerNamesThatLayersParametersOnly() throws Exception {
        Path legacy = synthetic("experts_gate").drop(k -> k.contains(".layers.1."))
                .config(c -> c.putArray("layers_to_transform").add(0)).write(tmp.resolve("layer-0"));
        AdapterPlan plan = AdapterFixtures.plan(legacy, Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(plan.config().get("target_parameters").toString()).isEqualTo(
                "[\"model.layers.0.mlp.experts.gate_up_proj\",\"model.layers.0.mlp.experts.down_proj\","
                        + "\"model.layers.0.mlp.gate.weight\"]");
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.LOADS_EXACTLY);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("layers_to_transform"));
        Path v5 = convert(legacy, "v5");
        assertMeansTheSame(legacy, v5);
        assertRoundTrip(legacy, v5);
    }

    @Test
    void dropoutIsWrittenAsZeroAndThePlanSaysSo() throws Exception {
        Path legacy = synthetic("attn_experts").config(c -> c.put("lora_dropout", 0.05))
                .write(tmp.resolve("dropout"));
        AdapterPlan plan = AdapterFixtures.plan(legacy, Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(plan.config().get("lora_dropout").doubleValue()).isZero();
        assertThat(plan.plan().warnings()).anyMatch(w -> w.contains("lora_dropout 0.05 is written as 0.0"));
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("lora_dropout != 0"));
        Path v5 = convert(legacy, "v5");
        assertMeansTheSame(legacy, v5);
    }

    @Test
    void perModuleRanksAndAlphasAreCarriedOverExactly() throws Exception {
        String w1 = L0 + "2.w1.";
        String expert2 = "model\\.layers\\.0\\.block_sparse_moe\\.experts\\.2\\.w1";
        Path legacy = synthetic("attn_experts").random(w1 + "lora_A.weight", 1, 2, 64)
                .random(w1 + "lora_B.weight", 2, 96, 2).config(c -> {
                    c.putObject("rank_pattern").put(expert2, 2);
                    c.putObject("alpha_pattern").put(expert2, 4).put("q_proj", 4).put("w2", 16);
                }).write(tmp.resolve("patterns"));
        AdapterPlan plan = AdapterFixtures.plan(legacy, Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(plan.peftCheck().reasons()).anyMatch(r -> r.contains("different ranks"));
        assertThat(plan.plan().warnings()).noneMatch(w -> w.contains("multiplied"));
        Path v5 = convert(legacy, "v5");
        assertThat(rankOf(v5, "model.layers.0.mlp.experts.gate_up_proj")).isEqualTo(8);
        assertThat(alphaOf(v5, "model.layers.0.mlp.experts.gate_up_proj")).isEqualTo(16);
        assertThat(alphaOf(v5, "model.layers.0.mlp.experts.down_proj")).isEqualTo(16);
        assertThat(alphaOf(v5, "model.layers.1.self_attn.q_proj")).isEqualTo(4);
        assertThat(alphaOf(v5, "model.layers.1.self_attn.k_proj")).isEqualTo(8);
        assertMeansTheSame(legacy, v5);
        assertRoundTrip(legacy, v5);
    }

    @Test
    void aModuleScaledUnlikeItsWrapperHasTheRatioFoldedIntoB() throws Exception {
        Path legacy = synthetic("experts_gate").config(c -> c.putObject("alpha_pattern").put(
                "model\\.layers\\.1\\.block_sparse_moe\\.experts\\.3\\.w3", 2)).write(tmp.resolve("scaled"));
        AdapterPlan plan = AdapterFixtures.plan(legacy, Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(plan.plan().warnings()).anyMatch(w -> w.contains("experts.3.w3 has scale 0.5")
                && w.contains("multiplied by 0.25"));
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        Path v5 = convert(legacy, "v5");
        assertMeansTheSame(legacy, v5);
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(v5, back, Optional.empty(), Optional.empty(), Optional.empty());
        assertMeansTheSame(back, v5);
    }

    @Test
    void savedModulesAreCarriedOverAndReplaceTheBaseWeightWhenMerged() throws Exception {
        Path legacy = synthetic("experts_gate").random("base_model.model.lm_head.weight", 7, 256, 64)
                .config(c -> c.putArray("modules_to_save").add("lm_head")).write(tmp.resolve("saved"));
        Path v5 = convert(legacy, "v5");
        try (Checkpoint c = Checkpoint.open(v5)) {
            assertThat(c.tensor("base_model.model.lm_head.weight")).isPresent();
        }
        assertThat(AdapterFixtures.json(v5.resolve(Checkpoint.ADAPTER_CONFIG)).get("modules_to_save").toString())
                .isEqualTo("[\"lm_head\"]");
        Path merged = tmp.resolve("merged");
        MergeFixtureTest.merge(Fixtures.tiny("v5-base.float32.safetensors"), v5, merged, Optional.of(Layout.V5));
        try (Checkpoint m = Checkpoint.open(merged); Checkpoint a = Checkpoint.open(legacy)) {
            assertThat(m.tensor("lm_head.weight").orElseThrow().data()
                    .mismatch(a.tensor("base_model.model.lm_head.weight").orElseThrow().data())).isEqualTo(-1L);
        }
        assertRoundTrip(legacy, v5);
    }

    @Test
    void aV5WrapperWhoseBIsNotBlockDiagonalGivesW1AndW3TheFullRank() throws Exception {
        Path v5 = convert(Fixtures.tiny("legacy-lora-experts_gate"), "v5");
        // layer 1, gate row 0, column k·E + e for rank k = 5 and expert 0: inside w3's rank window
        Path dense = SyntheticAdapter.from(v5).edit("base_model.model.model.layers.1.mlp.experts.base_layer"
                + ".lora_B.weight", b -> b[5 * 4] = 0.25).write(tmp.resolve("dense"));
        Path legacy = tmp.resolve("legacy");
        AdapterFixtures.convert(dense, legacy, Optional.of(Fixtures.tiny("legacy-base")), Optional.empty(),
                Optional.empty());
        try (Checkpoint c = Checkpoint.open(legacy)) {
            assertThat(c.tensor(L0.replace("layers.0", "layers.1") + "0.w1.lora_A.weight").orElseThrow().shape()
                    .dims()).containsExactly(8, 64);
            assertThat(c.tensor(L0 + "0.w1.lora_A.weight").orElseThrow().shape().dims()).containsExactly(4, 64);
        }
        Path fromLegacy = tmp.resolve("merged-legacy");
        MergeFixtureTest.merge(Fixtures.tiny("legacy-base"), legacy, fromLegacy, Optional.of(Layout.V5));
        Path fromDense = tmp.resolve("merged-dense");
        MergeFixtureTest.merge(Fixtures.tiny("v5-base.float32.safetensors"), dense, fromDense, Optional.of(Layout.V5));
        MergeFixtureTest.assertWithinRounding(fromLegacy, fromDense);
    }

    private SyntheticAdapter synthetic(String fixture) throws Exception {
        return SyntheticAdapter.from(Fixtures.tiny("legacy-lora-" + fixture)).config(c -> c.put(
                "base_model_name_or_path", Fixtures.tiny("legacy-base").toAbsolutePath().toString()));
    }

    /** How many files tmp holds: a fresh name for the next one. */
    private long entries() throws IOException {
        try (Stream<Path> files = Files.list(tmp)) {
            return files.count();
        }
    }

    private Path convert(Path adapter, String name) throws Exception {
        Path out = tmp.resolve(name + "-" + entries());
        AdapterFixtures.convert(adapter, out, Optional.empty(), Optional.empty(), Optional.empty());
        return out;
    }

    /** The converted adapter merged into the v5 base equals the legacy one merged into the legacy base. */
    private void assertMeansTheSame(Path legacy, Path v5) throws Exception {
        Path a = tmp.resolve("merged-legacy-" + entries());
        MergeFixtureTest.merge(Fixtures.tiny("legacy-base"), legacy, a, Optional.of(Layout.V5));
        Path b = tmp.resolve("merged-v5-" + entries());
        MergeFixtureTest.merge(Fixtures.tiny("v5-base.float32.safetensors"), v5, b, Optional.of(Layout.V5));
        MergeFixtureTest.assertWithinRounding(b, a);
    }

    private void assertRoundTrip(Path legacy, Path v5) throws Exception {
        Path back = tmp.resolve("back-" + entries());
        AdapterFixtures.convert(v5, back, Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(Files.mismatch(back.resolve(Checkpoint.ADAPTER_WEIGHTS), legacy.resolve(Checkpoint.ADAPTER_WEIGHTS)))
                .isEqualTo(-1L);
        AdapterFixtures.assertSameMeaning(back.resolve(Checkpoint.ADAPTER_CONFIG),
                legacy.resolve(Checkpoint.ADAPTER_CONFIG));
    }

    private static int rankOf(Path adapter, String name) throws Exception {
        return PeftPatterns.rank(AdapterConfig.read(adapter.resolve(Checkpoint.ADAPTER_CONFIG)), name);
    }

    private static double alphaOf(Path adapter, String name) throws Exception {
        return PeftPatterns.alpha(AdapterConfig.read(adapter.resolve(Checkpoint.ADAPTER_CONFIG)), name);
    }
}
