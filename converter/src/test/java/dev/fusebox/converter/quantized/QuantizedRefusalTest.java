package dev.fusebox.converter.quantized;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.convert.ConversionRequest;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.PlanExecutor;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.fusebox.converter.quantized.QuantizedSerializations.EXPERTS;
import static dev.fusebox.converter.quantized.QuantizedSerializations.t;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Pre-quantized experts that transformers v5 cannot hold fused are refused before a byte is written, with one
 * sentence naming the format — never a rename-only "conversion", never stacked quantization state.
 */
class QuantizedRefusalTest {

    @TempDir
    Path dir;

    static Stream<Arguments> formats() {
        return Stream.of(
                arguments("GPTQ", Map.of("quant_method", "gptq", "bits", 4, "group_size", 32),
                        (QuantizedSerializations.Linear) QuantizedSerializations::gptq, "GPTQ-quantized experts"),
                arguments("AWQ", Map.of("quant_method", "awq", "bits", 4, "group_size", 32),
                        (QuantizedSerializations.Linear) QuantizedSerializations::awq, "AWQ-quantized experts"),
                arguments("GPTQ without its config", null,
                        (QuantizedSerializations.Linear) QuantizedSerializations::gptq, "GPTQ- or AWQ-quantized"),
                arguments("bitsandbytes nf4", Map.of("quant_method", "bitsandbytes", "load_in_4bit", true,
                                "bnb_4bit_quant_type", "nf4"),
                        (QuantizedSerializations.Linear) QuantizedSerializations::bnb4, "bitsandbytes 4-bit experts"),
                arguments("bitsandbytes nf4 without its config", null,
                        (QuantizedSerializations.Linear) QuantizedSerializations::bnb4, "bitsandbytes 4-bit experts"),
                arguments("bitsandbytes int8", Map.of("quant_method", "bitsandbytes", "load_in_8bit", true),
                        (QuantizedSerializations.Linear) QuantizedSerializations::bnb8, "bitsandbytes 8-bit experts"),
                arguments("compressed-tensors W4A16", Map.of("quant_method", "compressed-tensors",
                                "format", "pack-quantized"),
                        (QuantizedSerializations.Linear) QuantizedSerializations::packQuantized,
                        "compressed-tensors pack-quantized experts"),
                arguments("compressed-tensors FP8", Map.of("quant_method", "compressed-tensors",
                                "format", "float-quantized"),
                        (QuantizedSerializations.Linear) QuantizedSerializations::compressedFp8,
                        "compressed-tensors FP8 experts"),
                arguments("FP8 with static activation scales", Map.of("quant_method", "fp8", "activation_scheme",
                                "static", "weight_block_size", List.of(32, 16)),
                        (QuantizedSerializations.Linear) QuantizedSerializations::fp8Static,
                        "FP8 experts with static activation scales"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void aFormatV5CannotHoldFusedIsRefusedByName(String name, Map<String, Object> quantization,
                                                 QuantizedSerializations.Linear linear, String format)
            throws Exception {
        Path ckpt = QuantizedSerializations.write(dir.resolve("ckpt"), quantization,
                QuantizedSerializations.mixtral(linear));
        try (Checkpoint c = Checkpoint.open(ckpt)) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(e.getMessage()).contains(format).contains(EXPERTS)
                                .contains("transformers v5 cannot hold them fused")
                                .contains("keep this checkpoint in the legacy layout");
                    });
        }
    }

    @Test
    void aGptqFamilyWithoutRenamingsIsRefusedByFormatToo() throws Exception {
        // qwen3_moe's rules only convert; with no .weight to convert, no key shows a layout at all.
        List<TensorSpec> tensors = new ArrayList<>(List.of(t("model.layers.0.mlp.gate.weight", Dtype.F16, 2, 64)));
        for (int e = 0; e < 2; e++) {
            for (String p : List.of("gate_proj", "up_proj")) {
                tensors.addAll(QuantizedSerializations.gptq("model.layers.0.mlp.experts." + e + "." + p,
                        new long[] {64, 128}));
            }
            tensors.addAll(QuantizedSerializations.gptq("model.layers.0.mlp.experts." + e + ".down_proj",
                    new long[] {128, 64}));
        }
        Path ckpt = dev.fusebox.converter.TestCheckpoints.write(dir.resolve("qwen"), "qwen3_moe",
                Map.of("num_experts", 2, "quantization_config", Map.of("quant_method", "gptq")), tensors);
        try (Checkpoint c = Checkpoint.open(ckpt)) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(e.getMessage()).contains("GPTQ-quantized experts")
                                .contains("model.layers.0.mlp.experts.0.gate_proj.qweight");
                    });
        }
    }

    @Test
    void anExpertBiasNoRuleKnowsIsRefusedNamingItsShape() throws Exception {
        List<TensorSpec> tensors = new ArrayList<>(QuantizedSerializations.mixtral((m, io) -> List.of(
                t(m + ".weight", Dtype.BF16, io[1], io[0]))));
        tensors.add(t(EXPERTS + "1.w2.bias", Dtype.BF16, 0));
        Path ckpt = QuantizedSerializations.write(dir.resolve("ckpt"), null, tensors);
        try (Checkpoint c = Checkpoint.open(ckpt)) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(e.getMessage()).contains(EXPERTS + "1.w2.bias").contains("(BF16 [0])")
                                .contains("no mixtral rule converts");
                    });
        }
    }

    @Test
    void aFusedTensorNoRuleSplitsIsRefusedTheOtherWay() throws Exception {
        String experts = "model.layers.0.mlp.experts.";
        List<TensorSpec> tensors = List.of(t("model.layers.0.mlp.gate.weight", Dtype.BF16, 2, 64),
                t(experts + "gate_up_proj", Dtype.BF16, 2, 256, 64), t(experts + "down_proj", Dtype.BF16, 2, 64, 128),
                t(experts + "gate_up_proj.absmax", Dtype.F32, 512), t(experts + "down_proj.absmax", Dtype.F32, 256));
        Path ckpt = QuantizedSerializations.write(dir.resolve("v5"), null, tensors);
        try (Checkpoint c = Checkpoint.open(ckpt)) {
            assertThat(c.layout()).isEqualTo(Layout.V5);
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(e.getMessage()).contains("bitsandbytes 4-bit").contains("gate_up_proj.absmax")
                                .contains("keep this checkpoint in the v5 layout");
                    });
        }
    }

    @Test
    void expertsOfSubByteElementsAreRefusedAndOtherSubByteTensorsCopiedWhole() throws Exception {
        List<TensorSpec> fp4 = QuantizedSerializations.mixtral((m, io) -> List.of(t(m + ".weight", Dtype.F4,
                io[1], io[0])));
        try (Checkpoint c = Checkpoint.open(QuantizedSerializations.write(dir.resolve("f4"), null, fp4))) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(e.getMessage()).contains("F4").contains("4-bit elements share bytes");
                    });
        }
        List<TensorSpec> dense = new ArrayList<>(QuantizedSerializations.mixtral((m, io) -> List.of(
                t(m + ".weight", Dtype.BF16, io[1], io[0]))));
        dense.add(t("model.codebook", Dtype.F4, 3, 2));
        dense.add(t("model.grid", Dtype.F6_E2M3, 4));
        Path source = QuantizedSerializations.write(dir.resolve("dense"), null, dense);
        Path out = dir.resolve("dense-v5");
        try (Checkpoint c = Checkpoint.open(source)) {
            PlanExecutor.execute(c, Conversions.plan(c, ConversionRequest.DEFAULT).plan(), out,
                    ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        try (Checkpoint before = Checkpoint.open(source); Checkpoint after = Checkpoint.open(out)) {
            for (String key : List.of("model.codebook", "model.grid")) {
                StoredTensor a = after.tensor(key).orElseThrow();
                assertThat(a.spec()).isEqualTo(before.tensor(key).orElseThrow().spec());
                assertThat(a.data().mismatch(before.tensor(key).orElseThrow().data())).isEqualTo(-1L);
            }
            assertThat(after.tensor("model.codebook").orElseThrow().byteSize()).isEqualTo(3);
            assertThat(after.layout()).isEqualTo(Layout.V5);
        }
        CliRunner.Run diff = CliRunner.run("diff", source.toString(), out.toString(), "--values");
        assertThat(diff.exitCode()).as(diff.err()).isZero();
    }

    @Test
    void theCommandLineRefusesWithExitCode2AndWritesNothing() throws Exception {
        Path ckpt = QuantizedSerializations.write(dir.resolve("gptq"), Map.of("quant_method", "gptq"),
                QuantizedSerializations.mixtral(QuantizedSerializations::gptq));
        Path out = dir.resolve("out");
        CliRunner.Run run = CliRunner.run("convert", ckpt.toString(), out.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err().lines().toList()).hasSize(1);
        assertThat(run.err()).contains("GPTQ-quantized experts");
        assertThat(out).doesNotExist();
    }
}
