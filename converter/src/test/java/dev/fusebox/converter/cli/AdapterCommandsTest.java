package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** plan and convert on LoRA adapters, and convert --merge-adapter, as a user runs them. */
class AdapterCommandsTest {

    @TempDir
    Path dir;

    @Test
    void planJsonOfALegacyAdapterHasThePeftCheckAndEachTargetsRankAndAlpha() throws Exception {
        CliRun run = CliRun.of("plan", Fixtures.tiny("legacy-lora-attn_experts_rslora").toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(run.out());
        assertThat(j.get("kind").asText()).isEqualTo("adapter");
        assertThat(j.get("from").asText()).isEqualTo("legacy");
        assertThat(j.get("to").asText()).isEqualTo("v5");
        assertThat(j.at("/peft_check/verdict").asText()).isEqualTo("loads_wrong");
        assertThat(j.at("/peft_check/reasons/0").asText()).contains("√2");
        assertThat(j.at("/config/alpha_pattern").toString()).isEqualTo("{\".*\\\\.gate_up_proj\":11.313708498984761}");
        JsonNode gateUp = null;
        for (JsonNode t : j.get("targets")) {
            if (t.get("key").asText().equals("base_model.model.model.layers.0.mlp.experts.base_layer.lora_B.weight")) {
                gateUp = t;
            }
        }
        assertThat(gateUp).isNotNull();
        assertThat(gateUp.get("recipe").asText()).isEqualTo("computed");
        assertThat(gateUp.get("shape").toString()).isEqualTo("[192,32]");
        assertThat(gateUp.get("sources")).hasSize(8);
        assertThat(gateUp.at("/lora/rank_before").toString()).isEqualTo("[4]");
        assertThat(gateUp.at("/lora/rank_after").asInt()).isEqualTo(8);
        assertThat(gateUp.at("/lora/alpha_after").asDouble()).isEqualTo(8 * Math.sqrt(2));
        assertThat(gateUp.at("/lora/scale").asDouble()).isEqualTo(4.0);
    }

    @Test
    void planTextOfADropoutAdapterSaysWhatPeftWouldDoAndWhatChanges() throws Exception {
        Path adapter = dir.resolve("dropout");
        Files.createDirectories(adapter);
        Path fixture = Fixtures.tiny("legacy-lora-experts_gate");
        Files.copy(fixture.resolve(Checkpoint.ADAPTER_WEIGHTS), adapter.resolve(Checkpoint.ADAPTER_WEIGHTS));
        Files.writeString(adapter.resolve(Checkpoint.ADAPTER_CONFIG), Files.readString(fixture.resolve(
                Checkpoint.ADAPTER_CONFIG)).replace("\"lora_dropout\": 0.0", "\"lora_dropout\": 0.1"));
        CliRun run = CliRun.of("plan", adapter.toString(), "--base", Fixtures.tiny("legacy-base").toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("PEFT check (refuses)").contains("lora_dropout != 0")
                .contains("lora_dropout 0.1 is written as 0.0")
                .contains("rank 4 → 8, alpha 8 → 16 (scale 2)");
    }

    @Test
    void convertWritesTheV5AdapterAsFloat64ExactlyAsPeftDoes() throws Exception {
        Path out = dir.resolve("v5");
        CliRun run = CliRun.of("convert", Fixtures.tiny("legacy-lora-experts_gate").toString(), out.toString(),
                "--to", "v5", "--dtype", "float64");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(Files.mismatch(out.resolve(Checkpoint.ADAPTER_WEIGHTS),
                Fixtures.tiny("peft-saved-experts_gate").resolve(Checkpoint.ADAPTER_WEIGHTS))).isEqualTo(-1L);
        assertThat(out.resolve(Checkpoint.ADAPTER_CONFIG)).exists();
    }

    @Test
    void convertWithMergeAdapterWritesTheMergedV5Base() throws Exception {
        Path out = dir.resolve("merged");
        CliRun run = CliRun.of("convert", Fixtures.tiny("legacy-base").toString(), out.toString(), "--to", "v5",
                "--merge-adapter", Fixtures.tiny("legacy-lora-experts_gate").toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(new ObjectMapper().readTree(run.out()).get("tensors").asInt()).isEqualTo(21);
        try (Checkpoint c = Checkpoint.open(out)) {
            assertThat(c.tensor("model.layers.0.mlp.experts.gate_up_proj")).isPresent();
        }
        assertThat(out.resolve("config.json")).exists();
    }

    @Test
    void adapterOptionsOnAModelConversionAreRefusedAsUsage() {
        CliRun run = CliRun.of("convert", Fixtures.tiny("legacy-base").toString(), dir.resolve("x").toString(),
                "--dtype", "float64");
        assertThat(run.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(run.errLines()).containsExactly("fusebox: a factor dtype applies to adapter conversions; the "
                + "input is a model (--dtype).");
    }

    @Test
    void anUnknownDtypeIsRefusedAsUsage() {
        CliRun run = CliRun.of("convert", Fixtures.tiny("legacy-lora-experts_gate").toString(),
                dir.resolve("x").toString(), "--dtype", "int8");
        assertThat(run.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(run.err()).contains("--dtype takes float64, float32, bfloat16 or float16, not 'int8'");
    }
}
