package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class SampleCommandTest {

    @TempDir
    Path dir;

    @Test
    void sampleWritesAModelAndAnAdapterThatVerifyAccepts() throws Exception {
        Path out = dir.resolve("demo");
        CliRun run = CliRun.of("sample", out.toString(), "--adapter", "--seed", "3", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(run.out());
        assertThat(j.get("preset").asText()).isEqualTo("tiny");
        assertThat(j.get("adapter").asText()).endsWith("demo-lora");
        CliRun verify = CliRun.of("verify", out.toString(), "--adapter", j.get("adapter").asText(),
                "--converted", out.toString(), "--converted-adapter", j.get("adapter").asText());
        assertThat(verify.exitCode()).as(verify.err()).isZero();
    }

    @Test
    void theTextSaysWhatWasWritten() {
        CliRun run = CliRun.of("sample", dir.resolve("plain").toString());
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).contains("legacy Mixtral, tiny preset, float32, seed 1", "2 files")
                .doesNotContain("LoRA");
    }

    @Test
    void anUnknownPresetIsBadInput() {
        CliRun run = CliRun.of("sample", dir.resolve("x").toString(), "--preset", "huge");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.errLines()).containsExactly("fusebox: --preset is 'huge', expected tiny or seed.");
    }
}
