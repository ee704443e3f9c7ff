package dev.fusebox.converter.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A fine-grained FP8 Qwen3-MoE made by transformers 5.18 (tools/make_fp8_moe_fixture.py; see the fixture's README)
 * against the state dicts 5.18's own loader holds: with its FP8 modules (as on an FP8 GPU) and dequantized on CPU.
 */
class Fp8ConversionTest {

    @TempDir
    Path dir;

    static Path fixture(String name) throws Exception {
        return Path.of(Fp8ConversionTest.class.getResource("/dev/fusebox/converter/quantized/fp8/" + name).toURI());
    }

    private Path convert(Path source, ConversionRequest request, String out) throws Exception {
        Path target = dir.resolve(out);
        try (Checkpoint c = Checkpoint.open(source)) {
            ConversionPlan plan = Conversions.plan(c, request).plan();
            PlanExecutor.execute(c, plan, target, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        return target;
    }

    @Test
    void legacyToV5GivesExactlyTheFusedWeightsAndScalesTransformersHoldsOnAnFp8Gpu() throws Exception {
        Path v5 = convert(fixture("legacy"), ConversionRequest.DEFAULT, "v5");
        try (Checkpoint converted = Checkpoint.open(v5);
             Checkpoint expected = Checkpoint.open(fixture("fused-fp8.safetensors"))) {
            FixtureConversionTest.assertSameTensors(converted, expected);
            assertThat(converted.tensor("model.layers.0.mlp.experts.gate_up_proj_scale_inv").orElseThrow().shape()
                    .dims()).containsExactly(4, 6, 4);
        }
    }

    @Test
    void thePlanWarnsThatTransformersHoldsFusedFp8RightOnlyOnFp8Gpus() throws Exception {
        try (Checkpoint c = Checkpoint.open(fixture("legacy"))) {
            assertThat(Conversions.plan(c, ConversionRequest.DEFAULT).plan().warnings())
                    .anySatisfy(w -> assertThat(w).contains("FP8-capable GPUs").contains("--dequantize"));
        }
    }

    @Test
    void v5BackToLegacyGivesTheOriginalTensorsByteForByte() throws Exception {
        Path v5 = convert(fixture("legacy"), ConversionRequest.DEFAULT, "v5");
        Path back = convert(v5, ConversionRequest.DEFAULT, "back");
        try (Checkpoint b = Checkpoint.open(back); Checkpoint original = Checkpoint.open(fixture("legacy"))) {
            FixtureConversionTest.assertSameTensors(b, original);
            assertThat(b.layout()).isEqualTo(Layout.LEGACY);
        }
    }

    @Test
    void dequantizeEqualsTransformersCpuDequantizationBitForBit() throws Exception {
        Path dense = convert(fixture("legacy"), ConversionRequest.DEFAULT.withDequantize(true), "dense");
        try (Checkpoint converted = Checkpoint.open(dense);
             Checkpoint expected = Checkpoint.open(fixture("dequantized.safetensors"))) {
            FixtureConversionTest.assertSameTensors(converted, expected);
        }
        assertThat(new ObjectMapper().readTree(dense.resolve("config.json").toFile()).has("quantization_config"))
                .isFalse();
    }

    @Test
    void dequantizingTheFusedFileGivesTheSameDenseWeightsPerExpert() throws Exception {
        Path v5 = convert(fixture("legacy"), ConversionRequest.DEFAULT, "v5");
        Path legacyDense = convert(v5, ConversionRequest.DEFAULT.withDequantize(true), "legacy-dense");
        Path dense = convert(legacyDense, ConversionRequest.DEFAULT, "dense");
        try (Checkpoint converted = Checkpoint.open(dense);
             Checkpoint expected = Checkpoint.open(fixture("dequantized.safetensors"))) {
            FixtureConversionTest.assertSameTensors(converted, expected);
        }
    }

    @Test
    void dequantizeRefusesACheckpointWithoutFp8Weights() throws Exception {
        try (Checkpoint c = Checkpoint.open(fixture("fused-fp8.safetensors").resolveSibling("dequantized.safetensors"))) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.to(Layout.LEGACY).withDequantize(true)))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(e.getMessage()).contains("--dequantize applies to fine-grained FP8");
                    });
        }
    }

    @Test
    void theScalesNeedTheBlockSizeOfConfigJson() throws Exception {
        Path copy = Files.createDirectories(dir.resolve("no-block"));
        Files.copy(fixture("legacy/model.safetensors"), copy.resolve("model.safetensors"));
        String config = Files.readString(fixture("legacy/config.json"));
        Files.writeString(copy.resolve("config.json"), config.replaceAll("\"weight_block_size\": \\[[^]]*]", "\"x\": 0"));
        try (Checkpoint c = Checkpoint.open(copy)) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(e.getMessage()).contains("weight_block_size").contains("_scale_inv");
                    });
        }
    }
}
