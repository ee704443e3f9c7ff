package dev.fusebox.converter.cli;

import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Inputs that once reached an IllegalArgumentException, which the command line now reports as a bug: each is the
 * input's fault, so exit 2 with one sentence that names the file, the key and what was expected.
 */
class UserErrorExitTest {

    @TempDir
    Path dir;

    @Test
    void aRuleThatNamesATensorAfterTheMetadataEntryIsRefusedBeforeAnythingIsWritten() throws Exception {
        // The bundled mixtral rules, with one more renaming that gives the norm the metadata entry's name.
        String mixtral = new String(UserErrorExitTest.class.getResourceAsStream(
                "/dev/fusebox/converter/rules/mixtral.json").readAllBytes(), StandardCharsets.UTF_8);
        String renamed = mixtral.replace("\"to\": \".mlp.\"}", "\"to\": \".mlp.\"},\n"
                + "    {\"from\": \"^model\\\\.norm\\\\.weight$\", \"to\": \"__metadata__\"}");
        assertThat(renamed).isNotEqualTo(mixtral);
        Path rules = Files.writeString(dir.resolve("metadata.json"), renamed);
        Path base = Fixtures.tiny("legacy-base");
        String sentence = "fusebox: " + base + ": tensor 'model.norm.weight': it would be written as '__metadata__', "
                + "the name safetensors keeps for the file's metadata, so no tensor can have it; rename it to another "
                + "key.";
        CliRun plan = CliRun.of("plan", base.toString(), "--rules", rules.toString());
        assertThat(plan.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(plan.errLines()).containsExactly(sentence);
        Path out = dir.resolve("out");
        CliRun convert = CliRun.of("convert", base.toString(), out.toString(), "--rules", rules.toString());
        assertThat(convert.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(convert.errLines()).containsExactly(sentence);
        assertThat(out).doesNotExist();
    }

    @Test
    void aBlockSizeThatIsNotTwoPositiveNumbersIsTheConfigsFault() throws Exception {
        Path fp8 = Path.of(UserErrorExitTest.class.getResource("/dev/fusebox/converter/quantized/fp8/legacy/")
                .toURI());
        Path copy = Files.createDirectories(dir.resolve("zero-block"));
        Files.copy(fp8.resolve("model.safetensors"), copy.resolve("model.safetensors"));
        String config = Files.readString(fp8.resolve("config.json"));
        String zero = config.replaceAll("\"weight_block_size\": \\[[^]]*]", "\"weight_block_size\": [0, 16]");
        assertThat(zero).isNotEqualTo(config);
        Files.writeString(copy.resolve("config.json"), zero);
        CliRun run = CliRun.of("plan", copy.toString());
        assertThat(run.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(run.errLines()).singleElement().asString().startsWith("fusebox: " + copy + ": tensor '")
                .endsWith("_scale_inv': it is an FP8 block scale, but config.json's "
                        + "quantization_config.weight_block_size is [0,16], not two positive whole numbers [rows, "
                        + "columns], so the blocks it scales are unknown.");
    }

    @Test
    void aBlockScaledExpertWeightWithOneAxisIsRefused() throws Exception {
        String e = "model.layers.0.mlp.experts.";
        List<TensorSpec> tensors = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            for (String p : List.of("gate_proj", "up_proj", "down_proj")) {
                tensors.add(new TensorSpec(e + i + "." + p + ".weight", Dtype.F8_E4M3, Shape.of(64)));
                tensors.add(TestCheckpoints.f32(e + i + "." + p + ".weight_scale_inv", 2));
            }
        }
        Path ckpt = TestCheckpoints.write(dir.resolve("flat"), "qwen3_moe", Map.of("hidden_size", 64,
                "moe_intermediate_size", 64, "num_experts", 2, "quantization_config",
                Map.of("quant_method", "fp8", "weight_block_size", List.of(32, 16))), tensors);
        CliRun run = CliRun.of("plan", ckpt.toString());
        assertThat(run.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(run.errLines()).containsExactly("fusebox: " + ckpt + ": tensor '" + e + "0.gate_proj.weight': "
                + "it has the block scale '" + e + "0.gate_proj.weight_scale_inv', but its shape [64] has no two "
                + "axes for blocks of weight_block_size [32, 16] to tile.");
    }
}
