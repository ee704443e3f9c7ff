package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code diff --values --json} carries the per-part, per-module and per-layer figures; {@code --html} draws them. */
class DiffFiguresCliTest {

    private static final String LEGACY = Fixtures.tiny("legacy-base").toString();
    private static final String V5 = Fixtures.tiny("v5-base.float32.safetensors").toString();

    @TempDir
    Path dir;

    @Test
    void aCheckpointAndItsConversionGiveIdenticalFiguresEverywhere() throws Exception {
        Path html = dir.resolve("diff.html");
        CliRun run = CliRun.of("diff", V5, LEGACY, "--values", "--json", "--html", html.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode o = new ObjectMapper().readTree(run.out());
        JsonNode gateUp = null;
        for (JsonNode v : o.get("values")) {
            assertThat(v.get("relative_diff").asDouble()).isZero();
            if (v.get("key").asText().equals("model.layers.0.mlp.experts.gate_up_proj")) {
                gateUp = v;
            }
        }
        assertThat(gateUp).isNotNull();
        assertThat(gateUp.get("parts")).hasSize(8);
        assertThat(gateUp.get("parts").get(1).get("name").asText())
                .isEqualTo("model.layers.0.block_sparse_moe.experts.0.w3.weight");
        assertThat(gateUp.get("parts").get(1).get("slice").asText()).isEqualTo("[0, 96:192, :]");
        assertThat(o.get("layers")).isNotEmpty();
        // Outside the layers first (embedding, final norm, lm_head), then layer 0 from its attention on.
        assertThat(o.get("layers").get(0).get("layer").isNull()).isTrue();
        assertThat(o.get("layers").get(1).get("layer").asInt()).isZero();
        assertThat(o.get("layers").get(1).get("group").asText()).isEqualTo("attention");
        assertThat(o.get("layers").get(2).get("group").asText()).isEqualTo("router");
        assertThat(o.get("layers").get(3).get("group").asText()).isEqualTo("expert 0");
        assertThat(o.get("modules")).isNotEmpty();
        String page = Files.readString(html);
        assertThat(page).contains("<table>", "expert 3", "attention", "router").doesNotContain("background:rgb");
    }

    @Test
    void aPictureWithoutValuesIsRefused() {
        CliRun run = CliRun.of("diff", V5, LEGACY, "--html", dir.resolve("x.html").toString());
        assertThat(run.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(run.err()).contains("add --values");
        assertThat(dir.resolve("x.html")).doesNotExist();
    }
}
