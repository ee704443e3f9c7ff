package dev.fusebox.converter.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.safetensors.SafetensorsFile;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
                    .anySatisfy(w -> assertThat(w).contains("FP8-capable GPUs").contains("convert it dequantized")
                            .doesNotContain("--"));
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
    void dequantizingInPlaceKeepsTheLayoutAndGivesTheSameDenseWeights() throws Exception {
        Path legacyDense = convert(fixture("legacy"), ConversionRequest.to(Layout.LEGACY).withDequantize(true),
                "in-place");
        try (Checkpoint c = Checkpoint.open(legacyDense)) {
            assertThat(c.layout()).isEqualTo(Layout.LEGACY);
            assertThat(c.tensors().keySet()).noneMatch(k -> k.endsWith("_scale_inv"));
        }
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
                        assertThat(e.getMessage()).contains("dequantizing applies to fine-grained FP8")
                                .doesNotContain("--");
                        assertThat(e.remedy()).contains(Remedy.DEQUANTIZE);
                    });
        }
    }

    @Test
    void deepSeekV4ScalesNamedScaleFollowTheirWeightsToo() throws Exception {
        Path renamed = Files.createDirectories(dir.resolve("v4-names"));
        Files.copy(fixture("legacy/config.json"), renamed.resolve("config.json"));
        List<TensorSpec> specs = new ArrayList<>();
        List<byte[]> data = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(fixture("legacy/model.safetensors"))) {
            for (TensorEntry t : f.tensors()) {
                String key = t.key().contains(".experts.") && t.key().endsWith(".weight_scale_inv")
                        ? t.key().replace(".weight_scale_inv", ".scale") : t.key();
                specs.add(new TensorSpec(key, t.dtype(), t.shape()));
                data.add(f.data(t).toArray(ValueLayout.JAVA_BYTE));
            }
        }
        try (SafetensorsWriter w = SafetensorsWriter.create(renamed.resolve("model.safetensors"), Map.of(), specs)) {
            for (byte[] b : data) {
                w.write(ByteBuffer.wrap(b));
            }
            w.commit();
        }
        Path v5 = convert(renamed, ConversionRequest.DEFAULT, "v5");
        try (Checkpoint converted = Checkpoint.open(v5);
             Checkpoint expected = Checkpoint.open(fixture("fused-fp8.safetensors"))) {
            FixtureConversionTest.assertSameTensors(converted, expected);
        }
    }

    private static Map<String, Object> fp8Config(int experts) {
        return Map.of("hidden_size", 64, "moe_intermediate_size", 40, "num_experts", experts,
                "quantization_config", Map.of("quant_method", "fp8", "weight_block_size", List.of(32, 16)));
    }

    @Test
    void aBlockThatWouldStraddleGateAndUpIsRefused() throws Exception {
        String e = "model.layers.0.mlp.experts.";
        List<TensorSpec> tensors = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            for (String p : List.of("gate_proj", "up_proj")) {
                tensors.add(new TensorSpec(e + i + "." + p + ".weight", Dtype.F8_E4M3, Shape.of(40, 64)));
                tensors.add(TestCheckpoints.f32(e + i + "." + p + ".weight_scale_inv", 2, 4));
            }
            tensors.add(new TensorSpec(e + i + ".down_proj.weight", Dtype.F8_E4M3, Shape.of(64, 40)));
            tensors.add(TestCheckpoints.f32(e + i + ".down_proj.weight_scale_inv", 2, 3));
        }
        Path legacy = TestCheckpoints.write(dir.resolve("i40"), "qwen3_moe", fp8Config(2), tensors);
        try (Checkpoint c = Checkpoint.open(legacy)) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT))
                    .isInstanceOfSatisfying(FuseboxException.class, ex -> {
                        assertThat(ex.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(ex.getMessage()).contains("concat(dim=1)").contains("40 along axis 1")
                                .contains("32-long blocks");
                    });
        }
        List<TensorSpec> fused = List.of(new TensorSpec(e + "gate_up_proj", Dtype.F8_E4M3, Shape.of(2, 80, 64)),
                TestCheckpoints.f32(e + "gate_up_proj_scale_inv", 2, 3, 4),
                new TensorSpec(e + "down_proj", Dtype.F8_E4M3, Shape.of(2, 64, 40)),
                TestCheckpoints.f32(e + "down_proj_scale_inv", 2, 2, 3));
        Path v5 = TestCheckpoints.write(dir.resolve("i40-v5"), "qwen3_moe", fp8Config(2), fused);
        try (Checkpoint c = Checkpoint.open(v5)) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT))
                    .isInstanceOfSatisfying(FuseboxException.class, ex -> {
                        assertThat(ex.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(ex.getMessage()).contains("chunk(dim=1)").contains("40 along axis 1");
                    });
        }
    }

    @Test
    void anExpertWhoseScaleIsMissingIsRefused() throws Exception {
        String e = "model.layers.0.mlp.experts.";
        List<TensorSpec> tensors = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            for (String p : List.of("gate_proj", "up_proj")) {
                tensors.add(new TensorSpec(e + i + "." + p + ".weight", Dtype.F8_E4M3, Shape.of(64, 64)));
                if (i == 0 || p.equals("gate_proj")) {
                    tensors.add(TestCheckpoints.f32(e + i + "." + p + ".weight_scale_inv", 2, 4));
                }
            }
            tensors.add(new TensorSpec(e + i + ".down_proj.weight", Dtype.F8_E4M3, Shape.of(64, 64)));
            tensors.add(TestCheckpoints.f32(e + i + ".down_proj.weight_scale_inv", 2, 4));
        }
        Path legacy = TestCheckpoints.write(dir.resolve("missing"), "qwen3_moe", fp8Config(2), tensors);
        try (Checkpoint c = Checkpoint.open(legacy)) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT))
                    .isInstanceOfSatisfying(FuseboxException.class, ex -> {
                        assertThat(ex.problem()).isEqualTo(Problem.MISSING_TENSOR);
                        assertThat(ex.getMessage()).contains(e + "1.up_proj.weight");
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
