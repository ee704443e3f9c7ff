package dev.fusebox.converter.quantized;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.convert.ConversionRequest;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.fusebox.converter.quantized.QuantizedSerializations.t;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * gpt-oss was born fused: its MXFP4 experts are stored as transformers' Mxfp4GptOssExperts holds them
 * (integrations/mxfp4.py: gate_up_proj U8 [E, 2I, H/32, 16] as _blocks with U8 [E, 2I, H/32] _scales, down_proj
 * [E, H, I/32, 16], biases [E, 2I] and [E, H]), in every transformers version.
 */
class BornFusedTest {

    private static final String E = "model.layers.0.mlp.experts.";

    @TempDir
    Path dir;

    private Path gptOss() throws Exception {
        return TestCheckpoints.write(dir.resolve("gpt-oss"), "gpt_oss", Map.of("num_local_experts", 2,
                "quantization_config", Map.of("quant_method", "mxfp4")), tensors());
    }

    private static List<TensorSpec> tensors() {
        return List.of(t("model.embed_tokens.weight", Dtype.BF16, 32, 64),
                t("model.layers.0.mlp.router.weight", Dtype.BF16, 2, 64), t("model.layers.0.mlp.router.bias",
                        Dtype.BF16, 2),
                t(E + "gate_up_proj_blocks", Dtype.U8, 2, 128, 2, 16), t(E + "gate_up_proj_scales", Dtype.U8, 2, 128, 2),
                t(E + "gate_up_proj_bias", Dtype.BF16, 2, 128), t(E + "down_proj_blocks", Dtype.U8, 2, 64, 2, 16),
                t(E + "down_proj_scales", Dtype.U8, 2, 64, 2), t(E + "down_proj_bias", Dtype.BF16, 2, 64));
    }

    @Test
    void itsKeysAloneShowTheFusedLayout() throws Exception {
        try (Checkpoint c = Checkpoint.open(TestCheckpoints.write(dir.resolve("bare"), null, Map.of(), tensors()))) {
            assertThat(c.layout()).isEqualTo(Layout.V5);
        }
    }

    @Test
    void gptOssIsV5OfItsOwnFamily() throws Exception {
        try (Checkpoint c = Checkpoint.open(gptOss())) {
            assertThat(c.layout()).isEqualTo(Layout.V5);
            assertThat(c.ruleSet().orElseThrow().family()).isEqualTo("gpt_oss");
        }
    }

    @Test
    void convertingItSaysThereIsNothingToConvert() throws Exception {
        try (Checkpoint c = Checkpoint.open(gptOss())) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.ALREADY_CONVERTED);
                        assertThat(e.getMessage()).contains("born fused").contains("nothing to convert");
                    });
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.to(Layout.LEGACY)))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(e.getMessage()).contains("no legacy layout");
                    });
        }
    }

    @Test
    void inspectShowsTheLayoutAndTheQuantizationConfig() throws Exception {
        CliRunner.Run text = CliRunner.run("inspect", gptOss().toString());
        assertThat(text.exitCode()).isZero();
        assertThat(text.out()).contains("v5").contains("mxfp4");
        CliRunner.Run json = CliRunner.run("inspect", "--json", gptOss().toString());
        assertThat(json.out()).contains("\"quantization_config\"").contains("\"quant_method\" : \"mxfp4\"");
    }
}
