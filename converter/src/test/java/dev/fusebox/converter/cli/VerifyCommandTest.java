package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.forward.ModelDims;
import dev.fusebox.converter.forward.SwappedExperts;
import dev.fusebox.converter.forward.Verifier;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class VerifyCommandTest {

    private static final String LEGACY = Fixtures.tiny("legacy-base").toString();
    private static final String V5 = Fixtures.tiny("v5-base.float32.safetensors").toString();

    @TempDir
    Path dir;

    private static JsonNode json(CliRun run) throws Exception {
        return new ObjectMapper().readTree(run.out());
    }

    @Test
    void theV5BasePassesAgainstTheLegacyBase() throws Exception {
        CliRun run = CliRun.of("verify", LEGACY, "--converted", V5, "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = json(run);
        assertThat(j.get("passed").asBoolean()).isTrue();
        assertThat(j.get("max_abs_diff").asDouble()).isZero();
        assertThat(j.get("tokens")).hasSize(16);
        assertThat(j.get("layers")).hasSize(2);
        assertThat(j.get("layers").get(1).get("index").asInt()).isEqualTo(1);
        assertThat(j.get("router_agreement").asInt()).isEqualTo(32);
        assertThat(j.get("top1_agreement").asInt()).isEqualTo(16);
        assertThat(j.get("top5_agreement").asInt()).isEqualTo(80);
        assertThat(j.at("/source/layout").asText()).isEqualTo("legacy");
        assertThat(j.at("/converted/layout").asText()).isEqualTo("v5");
        assertThat(j.has("legacy_logits")).isFalse();
        assertThat(run.err()).isEmpty();
    }

    @Test
    void theTextReportShowsLayersPositionsAndTheVerdict() {
        CliRun run = CliRun.of("verify", LEGACY, "--converted", V5, "--tokens", "1,17,42");
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).contains("tokens     1 17 42  (3 positions, 2 of 2 layers)",
                "layer  hidden max|Δ|", "top-1 3/3 · top-5 15/15 · routers 6/6").endsWith("PASSED\n");
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource({
            "legacy-lora-attn_experts, peft-saved-attn_experts",
            "legacy-lora-experts_gate, peft-saved-experts_gate",
            "legacy-lora-attn_experts_rslora, peft-saved-attn_experts_rslora-alpha-fixed",
            "legacy-lora-experts_gate_rslora, peft-saved-experts_gate_rslora-alpha-fixed"})
    void anAdapterPeftConvertedCorrectlyPasses(String legacyAdapter, String v5Adapter) throws Exception {
        CliRun run = CliRun.of("verify", LEGACY, "--adapter", Fixtures.tiny(legacyAdapter).toString(),
                "--converted", V5, "--converted-adapter", Fixtures.tiny(v5Adapter).toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(json(run).get("max_abs_diff").asDouble()).as("same bytes, same float32 arithmetic").isZero();
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource({
            "legacy-lora-attn_experts_rslora, peft-saved-attn_experts_rslora",
            "legacy-lora-experts_gate_rslora, peft-saved-experts_gate_rslora"})
    void anAdapterWithPeftsRsloraAlphaFails(String legacyAdapter, String v5Adapter) throws Exception {
        CliRun run = CliRun.of("verify", LEGACY, "--adapter", Fixtures.tiny(legacyAdapter).toString(),
                "--converted", V5, "--converted-adapter", Fixtures.tiny(v5Adapter).toString(), "--json");
        assertThat(run.exitCode()).isEqualTo(1);
        JsonNode j = json(run);
        assertThat(j.get("passed").asBoolean()).isFalse();
        assertThat(j.get("max_abs_diff").asDouble()).isGreaterThan(0.1);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).startsWith("fusebox: verification failed: logits differ by up to ");
    }

    @Test
    void aConversionWithTwoExpertsSwappedFails() throws Exception {
        Path broken = dir.resolve("swapped.safetensors");
        SwappedExperts.write(Fixtures.tiny("v5-base.float32.safetensors"), broken, 0, 1, 2);
        CliRun run = CliRun.of("verify", LEGACY, "--converted", broken.toString(), "--json");
        assertThat(run.exitCode()).isEqualTo(1);
        JsonNode j = json(run);
        assertThat(j.get("layers").get(0).get("max_abs_diff").asDouble()).isGreaterThan(1e-2);
        assertThat(j.get("failures").toString()).contains("hidden states after layer 0 differ");
    }

    @Test
    void layersLimitsTheComparisonToTheFirstLayers() throws Exception {
        CliRun run = CliRun.of("verify", LEGACY, "--converted", V5, "--layers", "1", "--json");
        assertThat(run.exitCode()).isZero();
        JsonNode j = json(run);
        assertThat(j.get("layers")).hasSize(1);
        assertThat(j.get("layers_run").asInt()).isEqualTo(1);
        assertThat(j.get("layers_total").asInt()).isEqualTo(2);
    }

    @Test
    void emitLogitsAddsBothSidesLogitsPerPosition() throws Exception {
        CliRun run = CliRun.of("verify", LEGACY, "--converted", V5, "--tokens", "1,2,3", "--emit-logits", "--json");
        JsonNode j = json(run);
        assertThat(j.get("legacy_logits")).hasSize(3);
        assertThat(j.get("legacy_logits").get(0)).hasSize(256);
        assertThat(j.get("converted_logits")).isEqualTo(j.get("legacy_logits"));
    }

    @Test
    void withoutAConversionItReadsTheConversionThroughThePlanAndRunsBothChecks() throws Exception {
        CliRun run = CliRun.of("verify", LEGACY, "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = json(run);
        assertThat(j.get("max_abs_diff").asDouble()).isZero();
        assertThat(j.at("/converted/layout").asText()).isEqualTo("v5");
        assertThat(j.at("/converted/through_plan").asBoolean()).isTrue();
        assertThat(j.at("/converted/path").asText()).isEqualTo(LEGACY);
        assertThat(j.get("checks").toString()).isEqualTo("[\"forward_pass\",\"experts\"]");
        assertThat(j.at("/expert_check/experts")).hasSize(8);
        assertThat(j.at("/expert_check/routers")).hasSize(2);
        assertThat(j.at("/expert_check/experts/0/function").asText()).isEqualTo("gated silu");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"legacy-lora-attn_experts", "legacy-lora-experts_gate", "legacy-lora-attn_experts_rslora",
            "legacy-lora-experts_gate_rslora"})
    void aLegacyAdapterConvertedOnTheFlyWithItsBasePasses(String adapter) throws Exception {
        CliRun run = CliRun.of("verify", LEGACY, "--adapter", Fixtures.tiny(adapter).toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = json(run);
        assertThat(j.get("max_abs_diff").asDouble()).isLessThanOrEqualTo(1e-4);
        assertThat(j.at("/converted/layout").asText()).isEqualTo("v5");
        assertThat(Path.of(j.at("/converted/adapter").asText()).getParent()).doesNotExist();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qwen3_moe", "qwen2_moe", "olmoe"})
    void aFullPassFamilysLegacyAdapterConvertedOnTheFlyPasses(String type) throws Exception {
        Path folder = Path.of(VerifyCommandTest.class.getResource("/dev/fusebox/converter/forward/" + type).toURI());
        CliRun run = CliRun.of("verify", folder.resolve("legacy-base").toString(), "--adapter",
                folder.resolve("legacy-adapter").toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = json(run);
        assertThat(j.get("checks").toString()).contains("forward");
        assertThat(j.get("max_abs_diff").asDouble()).isLessThanOrEqualTo(1e-4);
        assertThat(Path.of(j.at("/converted/adapter").asText()).getParent()).doesNotExist();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"peft-saved-attn_experts", "peft-saved-experts_gate",
            "peft-saved-attn_experts_rslora-alpha-fixed"})
    void aV5BaseAndAdapterAreConvertedToLegacyOnTheFlyAndPass(String adapter) throws Exception {
        CliRun run = CliRun.of("verify", v5Directory().toString(), "--adapter", Fixtures.tiny(adapter).toString(),
                "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = json(run);
        assertThat(j.get("max_abs_diff").asDouble()).isLessThanOrEqualTo(1e-4);
        assertThat(j.at("/source/layout").asText()).isEqualTo("v5");
        assertThat(j.at("/converted/layout").asText()).isEqualTo("legacy");
    }

    @Test
    void aWrongRuleIsCaughtOnTheFly() throws Exception {
        Path rules = dir.resolve("swapped.json");
        Files.writeString(rules, """
                {"family": "mixtral_swapped", "model_types": ["mixtral"],
                 "renamings": [{"from": "\\\\.block_sparse_moe\\\\.", "to": ".mlp."}],
                 "converters": [
                   {"sources": [".experts.*.w3.weight", ".experts.*.w1.weight"], "targets": ".experts.gate_up_proj",
                    "operations": [{"op": "stack", "dim": 0}, {"op": "concat", "dim": 1}]},
                   {"sources": ".experts.*.w2.weight", "targets": ".experts.down_proj",
                    "operations": [{"op": "stack", "dim": 0}]}]}
                """);
        CliRun run = CliRun.of("verify", LEGACY, "--adapter", Fixtures.tiny("legacy-lora-attn_experts").toString(),
                "--rules", rules.toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isEqualTo(1);
        assertThat(json(run).get("failures").toString()).contains("hidden states after layer 0 differ");
    }

    @Test
    void aWrongAdapterIsCaughtAgainstABaseConvertedOnTheFly() throws Exception {
        CliRun run = CliRun.of("verify", LEGACY, "--adapter",
                Fixtures.tiny("legacy-lora-experts_gate_rslora").toString(), "--converted-adapter",
                Fixtures.tiny("peft-saved-experts_gate_rslora").toString(), "--json");
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(json(run).get("max_abs_diff").asDouble()).isGreaterThan(0.1);
    }

    @Test
    void rulesWithAGivenConversionAreRefusedAsUsage() {
        CliRun run = CliRun.of("verify", LEGACY, "--converted", V5, "--rules", "x.json");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("--rules applies to the conversion verify reads without --converted");
    }

    /** The v5 base as a checkpoint directory: the state dict transformers builds, beside the base's config. */
    private Path v5Directory() throws Exception {
        Path v5 = Files.createDirectories(dir.resolve("v5-base"));
        Files.copy(Fixtures.tiny("v5-base.float32.safetensors"), v5.resolve("model.safetensors"));
        Files.copy(Fixtures.tiny("legacy-base").resolve("config.json"), v5.resolve("config.json"));
        return v5;
    }

    @Test
    void aTokenOutsideTheVocabularyIsBadInput() {
        CliRun run = CliRun.of("verify", LEGACY, "--converted", V5, "--tokens", "1,256");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).contains("vocabulary of 256 tokens, so the token id 256 is outside it");
    }

    @Test
    void anAdapterThatDoesNotFitTheBaseIsBadInput() {
        CliRun run = CliRun.of("verify", LEGACY, "--adapter", Fixtures.tiny("legacy-lora-attn_experts").toString(),
                "--converted", V5, "--converted-adapter", Fixtures.tiny("legacy-lora-attn_experts").toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).contains("block_sparse_moe", "which the base model does not have");
    }

    /** The tiny Mixtral under flex_olmo's keys: mlp.gate, and experts.N.gate_proj / up_proj / down_proj. */
    private Path flexOlmoModel() throws Exception {
        Path model = Files.createDirectories(dir.resolve("flex_olmo"));
        Files.writeString(model.resolve("config.json"), Files.readString(Fixtures.tiny("legacy-base")
                .resolve("config.json")).replace("\"mixtral\"", "\"flex_olmo\""));
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            java.util.function.UnaryOperator<String> key = k -> k.replace(".block_sparse_moe.", ".mlp.")
                    .replace(".w1.", ".gate_proj.").replace(".w3.", ".up_proj.").replace(".w2.", ".down_proj.");
            List<TensorSpec> specs = c.specs().stream().map(t -> new TensorSpec(key.apply(t.key()), t.dtype(),
                    t.shape())).toList();
            try (SafetensorsWriter w = SafetensorsWriter.create(model.resolve("model.safetensors"),
                    Map.of("format", "pt"), specs)) {
                for (StoredTensor t : c.tensors().values()) {
                    w.write(t.data());
                }
                w.commit();
            }
        }
        return model;
    }

    @Test
    void aQwenModelGetsTheForwardPassAndTheExpertCheckAndTheReportSaysSo() throws Exception {
        Path qwen = Path.of(VerifyCommandTest.class.getResource(
                "/dev/fusebox/converter/forward/qwen3_moe/legacy-base").toURI());
        CliRun run = CliRun.of("verify", qwen.toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = json(run);
        assertThat(j.get("checks").toString()).isEqualTo("[\"forward_pass\",\"experts\"]");
        assertThat(j.get("positions")).hasSize(Verifier.DEFAULT_TOKEN_COUNT);
        // layer 1 is a dense MLP (mlp_only_layers): no router to agree
        assertThat(j.at("/layers/1/dense").booleanValue()).isTrue();
        assertThat(j.at("/layers/0/dense").booleanValue()).isFalse();
        assertThat(j.get("router_decisions").intValue()).isEqualTo(2 * Verifier.DEFAULT_TOKEN_COUNT);
        assertThat(j.get("router_agreement").intValue()).isEqualTo(2 * Verifier.DEFAULT_TOKEN_COUNT);
        CliRun text = CliRun.of("verify", qwen.toString());
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out()).contains("checks     forward pass and expert check", "dense MLP, no router",
                "PASSED");
    }

    @Test
    void aModelTypeWithoutAForwardPassGetsTheExpertCheckAndTheReportSaysSo() throws Exception {
        CliRun run = CliRun.of("verify", flexOlmoModel().toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = json(run);
        assertThat(j.get("checks").toString()).isEqualTo("[\"experts\"]");
        assertThat(j.at("/expert_check/experts")).hasSize(8);
        assertThat(j.get("positions")).isEmpty();
        CliRun text = CliRun.of("verify", flexOlmoModel().toString(), "--layers", "1");
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out()).contains(
                "checks     expert check (the forward pass implements " + ModelDims.FAMILIES + " only)",
                "expert check: 4 experts in 1 of 2 layers, 1 routers", "PASSED");
    }

    @Test
    void anAdapterOnAModelTypeWithoutAForwardPassIsRefusedBeforeAnyWork() throws Exception {
        CliRun run = CliRun.of("verify", flexOlmoModel().toString(), "--adapter",
                Fixtures.tiny("legacy-lora-attn_experts").toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("'flex_olmo' model",
                "implements " + ModelDims.FAMILIES + " only",
                "without its adapter");
    }
}
