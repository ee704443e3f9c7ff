package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class InspectCommandTest {

    @TempDir
    Path dir;

    @Test
    void inspectJsonGivesKindLayoutTypeTensorsAndTree() throws Exception {
        CliRun run = CliRun.of("inspect", Fixtures.tiny("legacy-base").toString(), "--json");
        assertThat(run.exitCode()).isZero();
        JsonNode j = new ObjectMapper().readTree(run.out());
        assertThat(j.get("kind").asText()).isEqualTo("model");
        assertThat(j.get("layout").asText()).isEqualTo("legacy");
        assertThat(j.get("model_type").asText()).isEqualTo("mixtral");
        assertThat(j.get("tensors")).hasSize(41);
        JsonNode first = j.get("tensors").get(0);
        assertThat(first.get("key").asText()).isEqualTo("lm_head.weight");
        assertThat(first.get("dtype").asText()).isEqualTo("F32");
        assertThat(first.get("shape").toString()).isEqualTo("[256,64]");
        assertThat(first.get("file").asText()).isEqualTo("model.safetensors");
        assertThat(j.get("tree").asText()).isEqualTo(Files.readString(Fixtures.tiny("legacy-tree.txt")));
        assertThat(j.at("/totals/parameters").asLong()).isEqualTo(205_632);
        assertThat(j.at("/totals/bytes_per_dtype/F32").asLong()).isEqualTo(822_528);
    }

    @Test
    void inspectTextShowsASummaryAndTheTree() {
        CliRun run = CliRun.of("inspect", Fixtures.tiny("legacy-base").toString());
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).startsWith("legacy-base — model, mixtral, legacy layout")
                .contains("4 experts, top-2", "41 · 205,632 parameters")
                .endsWith("  (lm_head): Linear(in_features=64, out_features=256, bias=False)\n)\n");
    }

    @Test
    void anAdapterIsInspectedAsAnAdapter() throws Exception {
        CliRun run = CliRun.of("inspect", Fixtures.tiny("legacy-lora-experts_gate").toString(), "--json");
        JsonNode j = new ObjectMapper().readTree(run.out());
        assertThat(j.get("kind").asText()).isEqualTo("adapter");
        assertThat(j.get("layout").asText()).isEqualTo("legacy");
        assertThat(j.at("/adapter_config/r").asInt()).isEqualTo(4);
    }

    @Test
    void aMissingPathExitsTwoWithOneSentence() {
        CliRun run = CliRun.of("inspect", dir.resolve("nothing-here").toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).startsWith("fusebox: ").contains("nothing-here", "does not exist");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void aMalformedFileExitsTwoWithoutAStackTrace() throws Exception {
        Path bad = dir.resolve("bad.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        CliRun run = CliRun.of("inspect", bad.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.errLines()).containsExactly("fusebox: " + bad
                + ": the file is 3 bytes long, too short to hold a safetensors header length.");
    }

    @Test
    void debugAddsTheStackTrace() throws Exception {
        Path bad = dir.resolve("bad.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        CliRun run = CliRun.of("inspect", bad.toString(), "--debug");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("at dev.fusebox.converter");
    }

    @Test
    void usageErrorsExitTwoAndPointAtHelp() {
        CliRun run = CliRun.of("inspect");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).contains("PATH", "fusebox inspect --help");
        assertThat(CliRun.of("frobnicate").exitCode()).isEqualTo(2);
    }

    @Test
    void noArgumentsOpensTheGuiOnTheSampleAndGuiTakesPaths() {
        CliRun bare = CliRun.of();
        assertThat(bare.exitCode()).isZero();
        assertThat(bare.guiCalls()).containsExactly(List.of());
        CliRun withPaths = CliRun.of("gui", "a", "b");
        assertThat(withPaths.guiCalls()).containsExactly(List.of(Path.of("a"), Path.of("b")));
    }

    @Test
    void everyCommandShowsItsHelpAsTheUsageErrorSays() {
        for (String command : List.of("gui", "inspect", "plan", "convert", "diff", "verify", "sample")) {
            CliRun run = CliRun.of(command, "--help");
            assertThat(run.exitCode()).as(command).isZero();
            assertThat(run.out()).as(command).startsWith("Usage: fusebox " + command + " ").contains("--help");
            assertThat(run.guiCalls()).as(command).isEmpty();
            assertThat(CliRun.of("help", command).out()).as(command).isEqualTo(run.out());
        }
        assertThat(CliRun.of("convert", "--version").out()).startsWith("fusebox ");
    }

    @Test
    void helpListsTheCommandsAndExitsZero() {
        CliRun run = CliRun.of("--help");
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).contains("inspect", "gui", "Exit codes");
    }
}
