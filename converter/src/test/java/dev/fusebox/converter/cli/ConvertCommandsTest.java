package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** plan, convert and diff from the command line. */
class ConvertCommandsTest {

    @TempDir
    Path dir;

    @Test
    void planJsonListsExactlyTheKeysAndShapesOfTransformersV5StateDict() throws Exception {
        CliRun run = CliRun.of("plan", Fixtures.tiny("legacy-base").toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode plan = new ObjectMapper().readTree(run.out());
        Map<String, String> planned = new LinkedHashMap<>();
        for (JsonNode t : plan.get("targets")) {
            planned.put(t.get("key").asText(), t.get("shape").toString());
        }
        JsonNode reference = new ObjectMapper().readTree(Fixtures.tiny("v5-state-dict-shapes.json").toFile());
        Map<String, String> expected = new LinkedHashMap<>();
        reference.properties().forEach(e -> expected.put(e.getKey(), e.getValue().get(0).toString()));
        assertThat(planned).containsExactlyInAnyOrderEntriesOf(expected);
        assertThat(plan.get("from").asText()).isEqualTo("legacy");
        assertThat(plan.get("to").asText()).isEqualTo("v5");
    }

    @Test
    void planJsonSaysWhereEverySourceLands() throws Exception {
        JsonNode plan = new ObjectMapper().readTree(CliRun.of("plan", Fixtures.tiny("legacy-base").toString(),
                "--json").out());
        JsonNode gateUp = null;
        for (JsonNode t : plan.get("targets")) {
            if (t.get("key").asText().equals("model.layers.1.mlp.experts.gate_up_proj")) {
                gateUp = t;
            }
        }
        assertThat(gateUp).isNotNull();
        assertThat(gateUp.get("dtype").asText()).isEqualTo("F32");
        List<String> ops = new ArrayList<>();
        gateUp.get("ops").forEach(o -> ops.add(o.asText()));
        assertThat(ops).containsExactly("stack(dim=0)", "concat(dim=1)");
        JsonNode third = gateUp.get("sources").get(3);
        assertThat(third.get("key").asText()).isEqualTo("model.layers.1.block_sparse_moe.experts.1.w3.weight");
        assertThat(third.get("shape").toString()).isEqualTo("[96,64]");
        assertThat(third.get("lands").asText()).isEqualTo("[1, 96:192, :]");
        assertThat(third.get("target_bytes").toString()).isEqualTo("[73728,98304]");
    }

    @Test
    void planTextShowsTheDirectionAndEachPlacement() {
        CliRun run = CliRun.of("plan", Fixtures.tiny("v5-base.float32.safetensors").toString());
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).startsWith("v5-base.float32.safetensors: mixtral, v5 → legacy with the mixtral rules")
                .contains("model.layers.0.block_sparse_moe.experts.2.w3.weight",
                        "← model.layers.0.mlp.experts.gate_up_proj[2, 96:192, :] [4, 192, 64]  source bytes 122880–147456");
    }

    @Test
    void convertThenDiffFindsNoDifferenceInLayoutOrValues() throws Exception {
        Path out = dir.resolve("v5");
        CliRun convert = CliRun.of("convert", Fixtures.tiny("legacy-base").toString(), out.toString(), "--json");
        assertThat(convert.exitCode()).as(convert.err()).isZero();
        JsonNode r = new ObjectMapper().readTree(convert.out());
        assertThat(r.get("tensors").asInt()).isEqualTo(21);
        assertThat(r.get("files").toString()).isEqualTo("[\"model.safetensors\"]");
        assertThat(r.get("companions").toString()).isEqualTo("[\"config.json\"]");
        CliRun diff = CliRun.of("diff", Fixtures.tiny("legacy-base").toString(), out.toString(), "--values");
        assertThat(diff.exitCode()).as(diff.out()).isZero();
        assertThat(diff.out()).contains("B read v5 → legacy", "41 tensors agree", "values: 41 identical, 0 differ");
    }

    @Test
    void diffReadsAnAdapterInTheOtherAdaptersLayout() throws Exception {
        Path out = dir.resolve("adapter-v5");
        String legacy = Fixtures.tiny("legacy-lora-attn_experts").toString();
        assertThat(CliRun.of("convert", legacy, out.toString()).exitCode()).isZero();
        // The converted copy's relative base path leads nowhere from here: B is read through A's base.
        CliRun back = CliRun.of("diff", legacy, out.toString(), "--values");
        assertThat(back.exitCode()).as(back.out()).isZero();
        assertThat(back.out()).contains("B read v5 → legacy", "64 tensors agree", "values: 64 identical, 0 differ");
        CliRun forth = CliRun.of("diff", out.toString(), legacy, "--values");
        assertThat(forth.exitCode()).as(forth.out()).isZero();
        assertThat(forth.out()).contains("B read legacy → v5", "24 tensors agree", "values: 24 identical, 0 differ");

        Path other = dir.resolve("other-v5");
        assertThat(CliRun.of("convert", Fixtures.tiny("legacy-lora-attn_experts_rslora").toString(), other.toString())
                .exitCode()).isZero();
        CliRun differs = CliRun.of("diff", legacy, other.toString(), "--values");
        assertThat(differs.exitCode()).as(differs.out()).isEqualTo(1);
        assertThat(differs.out()).contains("B read v5 → legacy").doesNotContain("0 differ");
    }

    @Test
    void diffReportsWhatDiffersAndExitsOne() throws Exception {
        Path out = dir.resolve("v5.safetensors");
        assertThat(CliRun.of("convert", Fixtures.tiny("legacy-base").toString(), out.toString()).exitCode()).isZero();
        CliRun diff = CliRun.of("diff", Fixtures.tiny("v5-base.float32.safetensors").toString(),
                Fixtures.tiny("v5-merged-experts_gate.float32.safetensors").toString(), "--values", "--json");
        assertThat(diff.exitCode()).isEqualTo(1);
        JsonNode j = new ObjectMapper().readTree(diff.out());
        assertThat(j.get("identical").asBoolean()).isFalse();
        assertThat(j.get("mapping").isNull()).isTrue();
        List<String> differing = new ArrayList<>();
        for (JsonNode v : j.get("values")) {
            if (!v.get("identical").asBoolean()) {
                differing.add(v.get("key").asText());
                assertThat(v.get("max_abs_diff").asDouble()).isPositive();
            }
        }
        assertThat(differing).contains("model.layers.0.mlp.gate.weight", "model.layers.1.mlp.experts.down_proj")
                .doesNotContain("model.embed_tokens.weight");
        CliRun layout = CliRun.of("diff", Fixtures.tiny("legacy-base").toString(),
                Fixtures.tiny("mixtral-tiny").resolveSibling("mixtral-seed-shape").toString());
        assertThat(layout.exitCode()).isEqualTo(2);
    }

    @Test
    void anExistingOutputIsRefusedInOneSentenceUnlessForced() throws Exception {
        Path out = Files.createDirectories(dir.resolve("v5"));
        CliRun run = CliRun.of("convert", Fixtures.tiny("legacy-base").toString(), out.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.errLines()).containsExactly("fusebox: " + out + ": already exists; choose another output or "
                + "ask to replace it (--force replaces it).");
        assertThat(CliRun.of("convert", Fixtures.tiny("legacy-base").toString(), out.toString(), "--force",
                "--max-shard-size", "200KB").exitCode()).isZero();
        assertThat(out.resolve("model.safetensors.index.json")).exists();
    }

    @Test
    void badOptionsAndRefusalsExitTwo() {
        CliRun to = CliRun.of("plan", Fixtures.tiny("legacy-base").toString(), "--to", "sideways");
        assertThat(to.exitCode()).isEqualTo(2);
        assertThat(to.err()).contains("--to takes v5 or legacy, not 'sideways'");
        CliRun done = CliRun.of("plan", Fixtures.tiny("v5-base.float32.safetensors").toString(), "--to", "v5");
        assertThat(done.exitCode()).isEqualTo(2);
        assertThat(done.errLines()).hasSize(1);
        assertThat(done.err()).contains("is already in the v5 layout").contains("nothing to convert");
        CliRun size = CliRun.of("convert", Fixtures.tiny("legacy-base").toString(), dir.resolve("x").toString(),
                "--max-shard-size", "lots");
        assertThat(size.exitCode()).isEqualTo(2);
        assertThat(dir.resolve("x")).doesNotExist();
    }

    @Test
    void anExtraRuleFileIsUsedWithRules() throws Exception {
        Path rules = dir.resolve("rename-norm.json");
        Files.writeString(rules, """
                {"family": "mixtral_norm", "model_types": ["mixtral"], "extends": "mixtral",
                 "renamings": [{"from": "^model\\\\.norm\\\\.", "to": "model.final_norm."}]}
                """);
        CliRun run = CliRun.of("plan", Fixtures.tiny("legacy-base").toString(), "--rules", rules.toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("\"model.final_norm.weight\"", "mixtral_norm rules");
    }

    @Test
    void aRuleFileWhosePatternRunsAwayIsNamedInOneSentence() throws Exception {
        Path rules = dir.resolve("runaway.json");
        Files.writeString(rules, """
                {"family": "mixtral_runaway", "model_types": ["mixtral"], "extends": "mixtral",
                 "renamings": [{"from": "^(\\\\w+\\\\.?)*?x$", "to": "y", "one_way": true}]}
                """);
        CliRun run = CliRun.of("plan", Fixtures.tiny("legacy-base").toString(), "--rules", rules.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).contains("'^(\\w+\\.?)*?x$'", "backtracks").doesNotContain("unexpected");
    }
}
