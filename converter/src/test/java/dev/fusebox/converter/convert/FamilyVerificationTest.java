package dev.fusebox.converter.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.forward.ExpertCheckResult;
import dev.fusebox.converter.forward.VerificationReport;
import dev.fusebox.converter.forward.VerificationRequest;
import dev.fusebox.converter.forward.Verifier;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * For every bundled model type: a clean conversion passes the expert check, read through its plan and written out;
 * the plan's ranges are the bytes convert writes; and a conversion with two experts exchanged, or an expert's gate
 * and up halves exchanged, fails naming the layer, the expert and the tensor.
 */
class FamilyVerificationTest {

    @TempDir
    Path dir;

    /**
     * One model type's legacy checkpoint: its tensors and config.json's fields besides model_type, or, for the
     * families whose forward pass needs a whole model, the reference fixture.
     */
    record Family(String modelType, List<TensorSpec> legacy, Map<String, Object> config, Optional<Path> fixture) {
        @Override
        public String toString() {
            return modelType;
        }
    }

    /** The full-pass families whose fixture is the reference forward pass's tiny model. */
    private static final Set<String> FULL_PASS_REFERENCES = Set.of("mixtral", "qwen2_moe", "qwen3_moe", "olmoe",
            "glm4_moe", "dots1", "solar_open", "minimax_m2", "ernie4_5_moe", "hunyuan_v1_moe", "deepseek_v3",
            "glm4_moe_lite", "glm_moe_dsa", "deepseek_v2", "deepseek_v32");

    static Stream<Family> families() {
        return Stream.concat(FamilyConversionTest.families()
                        .filter(f -> !FULL_PASS_REFERENCES.contains(f.modelType()))
                        .map(f -> new Family(f.modelType(), f.legacy(), Map.of("num_experts", FamilyCase.EXPERTS),
                                Optional.empty())),
                Stream.of(new Family("mixtral", List.of(), Map.of(), Optional.of(Fixtures.tiny("legacy-base"))),
                        new Family("qwen2_moe", List.of(), Map.of(), Optional.of(reference("qwen2_moe"))),
                        new Family("qwen3_moe", List.of(), Map.of(), Optional.of(reference("qwen3_moe"))),
                        new Family("olmoe", List.of(), Map.of(), Optional.of(reference("olmoe"))),
                        new Family("glm4_moe", List.of(), Map.of(), Optional.of(reference("glm4_moe"))),
                        new Family("dots1", List.of(), Map.of(), Optional.of(reference("dots1"))),
                        new Family("solar_open", List.of(), Map.of(), Optional.of(reference("solar_open"))),
                        new Family("minimax_m2", List.of(), Map.of(), Optional.of(reference("minimax_m2"))),
                        new Family("hunyuan_v1_moe", List.of(), Map.of(), Optional.of(reference("hunyuan_v1_moe"))),
                        new Family("ernie4_5_moe", List.of(), Map.of(), Optional.of(reference("ernie4_5_moe"))),
                        new Family("deepseek_v3", List.of(), Map.of(), Optional.of(reference("deepseek_v3"))),
                        new Family("glm4_moe_lite", List.of(), Map.of(), Optional.of(reference("glm4_moe_lite"))),
                        new Family("glm_moe_dsa", List.of(), Map.of(), Optional.of(reference("glm_moe_dsa"))),
                        new Family("deepseek_v2", List.of(), Map.of(), Optional.of(reference("deepseek_v2"))),
                        new Family("deepseek_v32", List.of(), Map.of(), Optional.of(reference("deepseek_v32"))),
                        new Family("qwen3_vl_moe", Qwen3VlMoeConversionTest.checkpoint(8, 6, false),
                                Qwen3VlMoeConversionTest.config(8, 6, false), Optional.empty()),
                        new Family("ernie4_5_vl_moe", ErnieVlMoeConversionTest.legacy(6), Map.of(),
                                Optional.empty())));
    }

    /** The tiny model transformers saved for the forward pass's reference (tools/reference-forward.py). */
    private static Path reference(String modelType) {
        try {
            return Path.of(FamilyVerificationTest.class.getResource("/dev/fusebox/converter/forward/" + modelType
                    + "/legacy-base").toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The family's fixture, or a checkpoint whose float32 values are seeded Gaussians (random bytes hold NaNs). */
    private static Path write(Path out, Family family) throws Exception {
        if (family.fixture().isPresent()) {
            return family.fixture().get();
        }
        String modelType = family.modelType();
        Map<String, Object> config = family.config();
        List<TensorSpec> tensors = family.legacy();
        Files.createDirectories(out);
        ObjectMapper m = new ObjectMapper();
        ObjectNode c = m.createObjectNode().put("model_type", modelType);
        config.forEach((k, v) -> c.set(k, m.valueToTree(v)));
        Files.writeString(out.resolve("config.json"), m.writeValueAsString(c));
        Map<String, byte[]> data = new HashMap<>();
        for (TensorSpec t : tensors) {
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(t.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
            SplittableRandom random = new SplittableRandom(t.key().hashCode());
            while (b.hasRemaining()) {
                b.putFloat((float) random.nextGaussian());
            }
            data.put(t.key(), b.array());
        }
        writeSafetensors(out.resolve("model.safetensors"), tensors, data);
        return out;
    }

    private static void writeSafetensors(Path file, List<TensorSpec> tensors, Map<String, byte[]> data)
            throws Exception {
        try (SafetensorsWriter w = SafetensorsWriter.create(file, Map.of("format", "pt"), tensors)) {
            for (TensorSpec t : tensors) {
                w.write(ByteBuffer.wrap(data.get(t.key())));
            }
            w.commit();
        }
    }

    private static VerificationReport verify(VerificationRequest request) throws Exception {
        return new Verifier().verify(request.withRules(RuleBook.bundled()), ProgressListener.NONE,
                Cancellation.NEVER);
    }

    /** The source, converted to v5 on disk. */
    private Path converted(Path legacy) throws Exception {
        Path out = dir.resolve("v5");
        try (Checkpoint c = Checkpoint.open(legacy, RuleBook.bundled())) {
            PlanExecutor.execute(c, Planner.plan(c, RuleBook.bundled(), Optional.empty()), out,
                    ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void aCleanConversionPassesTheExpertCheckThroughItsPlanAndOnDisk(Family family) throws Exception {
        Path legacy = write(dir.resolve("legacy"), family);
        VerificationReport onTheFly = verify(VerificationRequest.throughPlan(legacy, Optional.empty()));
        assertThat(onTheFly.failures()).isEmpty();
        assertThat(onTheFly.passed()).isTrue();
        assertThat(onTheFly.converted().throughPlan()).isTrue();
        ExpertCheckResult x = onTheFly.experts();
        assertThat(x.experts()).isNotEmpty().allSatisfy(e -> assertThat(e.passed()).isTrue());
        // ernie4_5_vl_moe's fixture has a dense first layer, qwen3_moe's a dense second of three, qwen2_moe's a dense
        // third, glm4_moe's, dots1's, ernie4_5_moe's and the latent-attention families' a dense first of three,
        // olmoe's, minimax_m2's, solar_open's and hunyuan_v1_moe's none
        assertThat(x.layers()).isEqualTo(switch (family.modelType()) {
            case "ernie4_5_vl_moe" -> List.of(1);
            case "qwen3_moe" -> List.of(0, 2);
            case "glm4_moe", "dots1", "ernie4_5_moe", "deepseek_v2", "deepseek_v3", "deepseek_v32", "glm4_moe_lite",
                 "glm_moe_dsa" -> List.of(1, 2);
            case "olmoe", "minimax_m2", "solar_open", "hunyuan_v1_moe" -> List.of(0, 1, 2);
            default -> List.of(0, 1);
        });
        assertThat(onTheFly.forwardPass()).isEqualTo(Verifier.runsForwardPass(family.modelType()));

        VerificationReport onDisk = verify(VerificationRequest.of(legacy, Optional.empty(), converted(legacy),
                Optional.empty()));
        assertThat(onDisk.failures()).isEmpty();
        assertThat(onDisk.experts().experts()).hasSameSizeAs(x.experts());
        assertThat(onDisk.experts().routers()).hasSameSizeAs(x.routers());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void aRangeReadThroughThePlanIsTheBytesConvertWrites(Family family) throws Exception {
        Path legacy = write(dir.resolve("legacy"), family);
        Path v5 = converted(legacy);
        SplittableRandom random = new SplittableRandom(7);
        try (Checkpoint source = Checkpoint.open(legacy, RuleBook.bundled());
             Checkpoint written = Checkpoint.open(v5, RuleBook.bundled())) {
            ConversionPlan plan = Planner.plan(source, RuleBook.bundled(), Optional.empty());
            try (PlannedTensors planned = new PlannedTensors(source, plan)) {
                for (PlannedTarget t : plan.targets()) {
                    byte[] expected = written.tensor(t.key()).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE);
                    assertThat(planned.read(t.key(), 0, t.byteSize()).toArray(ValueLayout.JAVA_BYTE))
                            .as(t.key()).isEqualTo(expected);
                    int from = random.nextInt(expected.length);
                    int to = from + random.nextInt(expected.length - from + 1);
                    assertThat(planned.read(t.key(), from, to - from).toArray(ValueLayout.JAVA_BYTE))
                            .as(t.key() + " bytes " + from + "–" + to)
                            .isEqualTo(java.util.Arrays.copyOfRange(expected, from, to));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void twoExpertsExchangedInTheConversionFailNamingTheLayerTheExpertAndTheTensor(Family family)
            throws Exception {
        Path legacy = write(dir.resolve("legacy"), family);
        Path v5 = converted(legacy);
        String key = firstExpertStack(v5, "");
        Path broken = rewrite(v5, dir.resolve("broken"), key, (bytes, spec) -> {
            int slice = bytes.length / (int) spec.shape().dim(0);
            byte[] out = bytes.clone();
            System.arraycopy(bytes, 0, out, slice, slice);
            System.arraycopy(bytes, slice, out, 0, slice);
            return out;
        });
        VerificationReport r = verify(VerificationRequest.of(legacy, Optional.empty(), broken, Optional.empty()));
        assertThat(r.passed()).isFalse();
        assertThat(r.experts().failures()).anySatisfy(f -> assertThat(f).contains("expert 0").contains(key));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void anExpertsGateAndUpExchangedInTheConversionFailNamingTheLayerTheExpertAndTheTensor(Family family)
            throws Exception {
        Path legacy = write(dir.resolve("legacy"), family);
        Path v5 = converted(legacy);
        String key = firstExpertStack(v5, "gate_up_proj");
        if (key == null) {
            assertThat(family.modelType()).as("only ungated experts have no gate_up_proj").isEqualTo("nemotron_h");
            return;
        }
        Path broken = rewrite(v5, dir.resolve("broken"), key, (bytes, spec) -> {
            byte[] out = bytes.clone();
            // expert 0's slice [2I, H] (or [H, 2I] transposed): exchange the two halves of its gate/up axis
            long a = spec.shape().dim(1);
            long b = spec.shape().dim(2);
            boolean rowsHalved = !family.modelType().equals("aria_text");
            int width = 4;
            if (rowsHalved) {
                int half = (int) (a / 2 * b) * width;
                System.arraycopy(bytes, 0, out, half, half);
                System.arraycopy(bytes, half, out, 0, half);
            } else {
                int half = (int) (b / 2) * width;
                for (int row = 0; row < a; row++) {
                    int at = (int) (row * b) * width;
                    System.arraycopy(bytes, at, out, at + half, half);
                    System.arraycopy(bytes, at + half, out, at, half);
                }
            }
            return out;
        });
        VerificationReport r = verify(VerificationRequest.of(legacy, Optional.empty(), broken, Optional.empty()));
        assertThat(r.passed()).isFalse();
        assertThat(r.experts().failures()).anySatisfy(f -> assertThat(f).contains("expert 0: its gate projection")
                .contains(key));
    }

    /**
     * What the expert check does not see, the forward pass does: a conversion with one non-expert tensor the
     * family's pass reads (Qwen3's query norm, Qwen2's shared-expert gate, OLMoE's key norm) negated fails after
     * that layer.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"qwen3_moe, model.layers.0.self_attn.q_norm.weight",
            "qwen2_moe, model.layers.0.mlp.shared_expert_gate.weight",
            "olmoe, model.layers.0.self_attn.k_norm.weight"})
    void aNonExpertTensorChangedInTheConversionFailsTheForwardPass(String modelType, String key) throws Exception {
        Path legacy = reference(modelType);
        Path broken = rewrite(converted(legacy), dir.resolve("broken"), key, (bytes, spec) -> {
            ByteBuffer b = ByteBuffer.wrap(bytes.clone()).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < bytes.length; i += 4) {
                b.putFloat(i, -b.getFloat(i));
            }
            return b.array();
        });
        VerificationReport r = verify(VerificationRequest.of(legacy, Optional.empty(), broken, Optional.empty()));
        assertThat(r.forwardPass()).isTrue();
        assertThat(r.experts().failures()).isEmpty();
        assertThat(r.passed()).isFalse();
        assertThat(r.failures()).anySatisfy(f -> assertThat(f).startsWith("hidden states after layer 0 differ"));
    }

    /** The first tensor (by key) that stacks experts and ends with {@code suffix}, or null. */
    private static String firstExpertStack(Path v5, String suffix) throws Exception {
        try (Checkpoint c = Checkpoint.open(v5, RuleBook.bundled())) {
            return c.specs().stream().filter(t -> t.shape().rank() == 3 && t.key().contains(".experts.")
                            && t.key().endsWith(suffix))
                    .map(TensorSpec::key).sorted().findFirst().orElse(null);
        }
    }

    private interface Edit {
        byte[] apply(byte[] bytes, TensorSpec spec);
    }

    /** A copy of checkpoint {@code in} (config.json and one file of weights) with tensor {@code key} edited. */
    private static Path rewrite(Path in, Path out, String key, Edit edit) throws Exception {
        Files.createDirectories(out);
        Files.copy(in.resolve("config.json"), out.resolve("config.json"));
        try (Checkpoint c = Checkpoint.open(in, RuleBook.bundled())) {
            Map<String, byte[]> data = new HashMap<>();
            for (StoredTensor t : c.tensors().values()) {
                byte[] bytes = t.data().toArray(ValueLayout.JAVA_BYTE);
                data.put(t.key(), t.key().equals(key) ? edit.apply(bytes, t.spec()) : bytes);
            }
            writeSafetensors(out.resolve("model.safetensors"), c.specs(), data);
        }
        return out;
    }
}
