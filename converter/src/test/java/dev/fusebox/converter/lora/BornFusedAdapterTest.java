package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * gpt_oss adapters made by PEFT 0.21 on transformers 4.57 (resources lora/oracle/gpt_oss and gpt_oss_square, made
 * by tools/oracle-lora.py and tools/oracle-gpt-oss-square.py). gpt_oss was born fused: its experts are the same
 * [E, in, out] parameters read as {@code x @ W[e]} in both versions and the adapter's names are the same, but only
 * 5.18's GptOssExperts says is_transposed, so PEFT's ParamWrapper makes A [E·r, out], B [in, r·E] with
 * ΔW[e] = B_e·A_e on 4.57 and A' [E·r, in], B' [out, r·E] with ΔW[e] = A'_eᵀ·B'_eᵀ on 5.18.
 */
class BornFusedAdapterTest {

    private static final int RANK = 4;
    private static final String LAYER = "model.layers.0.";

    @TempDir
    Path tmp;

    @Test
    void aGptOssAdapterMadeOnTransformers4GetsEachExpertFactorTheOtherTransposedUnderTheSameNames() throws Exception {
        OracleCase c = OracleCase.open("gpt_oss", "experts_attention", tmp);
        assertThat(c.peft()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        AdapterPlan plan = c.plan();
        assertThat(plan.plan().from()).isEqualTo(Layout.LEGACY);
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        assertThat(plan.peftCheck().reasons()).singleElement().asString().contains("raises a size mismatch (" + AdapterTensors.PREFIX + LAYER
                + "mlp.experts.base_layer.lora_A.weight is [16, 192])").contains("is_transposed");
        assertThat(strings(plan.config().get("target_parameters")))
                .containsExactly("mlp.experts.gate_up_proj", "mlp.experts.down_proj");
        assertThat(strings(plan.config().get("target_modules"))).containsExactlyInAnyOrder("q_proj", "v_proj");
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        assertThat(AdapterFixtures.json(v5.resolve(Checkpoint.ADAPTER_CONFIG)))
                .isEqualTo(AdapterFixtures.json(c.adapter().resolve(Checkpoint.ADAPTER_CONFIG)));
        try (Checkpoint legacy = Checkpoint.open(c.adapter()); Checkpoint written = Checkpoint.open(v5)) {
            assertThat(written.tensors().keySet()).isEqualTo(legacy.tensors().keySet());
            // gate_up_proj [E, 64, 192] innermost, down_proj [E, 96, 64] outside it
            assertSameExpertDeltas(legacy, written, LAYER + "mlp.experts.base_layer", 64, 192);
            assertSameExpertDeltas(legacy, written, LAYER + "mlp.experts", 96, 64);
            assertSameBytes(legacy, written, LAYER + "self_attn.q_proj");
        }
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(v5, back, Optional.of(c.base()), Optional.empty(), Optional.empty());
        assertThat(Files.readAllBytes(back.resolve("adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(c.adapter().resolve("adapter_model.safetensors")));
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
    }

    @Test
    void theExpertBiasesLoraIsTwoDimensionalSoItIsCopiedBetweenTheTransposedWrappersAroundIt() throws Exception {
        // target_parameters gate_up_proj, down_proj and both biases: four wrappers, nested in the order GptOssExperts
        // registers them (gate_up_proj innermost, then its bias, down_proj, down_proj_bias outermost); a bias
        // [E, n] is a 2-D parameter, whose LoRA PEFT makes alike on both (no swap without a third dimension)
        OracleCase c = OracleCase.open("gpt_oss", "expert_biases", tmp);
        assertThat(c.peft()).isEqualTo(c.plan().peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.REFUSES);
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        String experts = LAYER + "mlp.experts";
        try (Checkpoint legacy = Checkpoint.open(c.adapter()); Checkpoint written = Checkpoint.open(v5)) {
            assertSameBytes(legacy, written, experts);
            assertSameExpertDeltas(legacy, written, experts + ".base_layer", 96, 64);
            assertSameBytes(legacy, written, experts + ".base_layer.base_layer");
            assertSameExpertDeltas(legacy, written, experts + ".base_layer.base_layer.base_layer", 64, 192);
            assertThat(legacy.tensor(AdapterTensors.key(experts, 'A')).orElseThrow().shape().dims())
                    .containsExactly(RANK, 64L);
        }
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(v5, back, Optional.of(c.base()), Optional.of(Layout.LEGACY), Optional.empty());
        assertThat(Files.readAllBytes(back.resolve("adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(c.adapter().resolve("adapter_model.safetensors")));
    }

    @Test
    void aSquareExpertParameterHidesTheLayoutSoTheAdapterIsRefusedWithoutOneAndExactWithIt() throws Exception {
        // intermediate_size 32: gate_up_proj [E, 64, 64], whose factors are [16, 64] and [64, 16] in both versions;
        // PEFT 0.21 on 5.18 loads the 4.57 adapter without an error and computes something else (row.json)
        OracleCase c = OracleCase.open("gpt_oss_square", "gate_up", tmp);
        assertThat(c.peft()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThatThrownBy(c::plan).isInstanceOfSatisfying(FuseboxException.class, e -> {
            assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
            assertThat(e.remedy()).contains(Remedy.TARGET_LAYOUT);
            assertThat(e.getMessage()).contains("cannot tell whether it was made on transformers 4 or 5: every "
                    + "expert parameter it adapts (gate_up_proj) is square per expert");
        });
        AdapterPlan plan = AdapterFixtures.plan(c.adapter(), Optional.of(c.base()), Optional.of(Layout.V5),
                Optional.empty());
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.LOADS_WRONG);
        assertThat(plan.peftCheck().reasons()).singleElement().asString().contains("read transposed");
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.of(Layout.V5), Optional.empty());
        try (Checkpoint legacy = Checkpoint.open(c.adapter()); Checkpoint written = Checkpoint.open(v5)) {
            assertSameExpertDeltas(legacy, written, LAYER + "mlp.experts", 64, 64);
        }
        Path back = tmp.resolve("back");
        AdapterFixtures.convert(v5, back, Optional.of(c.base()), Optional.of(Layout.LEGACY), Optional.empty());
        assertThat(Files.readAllBytes(back.resolve("adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(c.adapter().resolve("adapter_model.safetensors")));
        assertThat(c.row().get("fusebox").asText()).isEqualTo("exact");
    }

    /** The module's 4.x factors of a parameter [E, in, out] and its v5 factors mean the same ΔW per expert. */
    private static void assertSameExpertDeltas(Checkpoint legacy, Checkpoint v5, String module, long in, long out)
            throws FuseboxException {
        StoredTensor a = legacy.tensor(AdapterTensors.key(module, 'A')).orElseThrow();
        assertThat(a.shape().dims()).containsExactly(a.shape().dim(0), out);
        assertThat(legacy.tensor(AdapterTensors.key(module, 'B')).orElseThrow().shape().dim(0)).isEqualTo(in);
        TransposedDeltas.assertSame(a, legacy.tensor(AdapterTensors.key(module, 'B')).orElseThrow(),
                v5.tensor(AdapterTensors.key(module, 'A')).orElseThrow(),
                v5.tensor(AdapterTensors.key(module, 'B')).orElseThrow(), RANK);
    }

    private static void assertSameBytes(Checkpoint legacy, Checkpoint v5, String module) throws FuseboxException {
        for (char factor : new char[] {'A', 'B'}) {
            String key = AdapterTensors.key(module, factor);
            assertThat(v5.tensor(key).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE))
                    .isEqualTo(legacy.tensor(key).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE));
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
