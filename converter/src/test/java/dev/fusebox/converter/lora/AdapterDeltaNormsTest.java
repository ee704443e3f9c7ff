package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The size of each module's LoRA delta, from r × r Gram matrices, against the dense product scale · B @ A built
 * here in double from the PEFT-written factors and the scale PEFT uses (alpha / r, or alpha / √r with rsLoRA),
 * for a legacy base and the v5 base alike.
 */
class AdapterDeltaNormsTest {

    private static final String PREFIX = "base_model.model.";

    @ParameterizedTest
    @ValueSource(strings = {"legacy-lora-attn_experts", "legacy-lora-attn_experts_rslora",
            "legacy-lora-experts_gate", "legacy-lora-experts_gate_rslora"})
    void eachModulesDeltaNormIsTheDenseProductsFrobeniusNorm(String fixture) throws Exception {
        Path dir = Fixtures.tiny(fixture);
        Map<String, Double> expected = denseNorms(dir);
        assertThat(expected).isNotEmpty();
        for (String base : new String[] {"legacy-base", "v5-base.float32.safetensors"}) {
            List<AdapterDeltaNorms.ModuleDelta> got;
            try (Checkpoint b = Checkpoint.open(Fixtures.tiny(base)); Checkpoint a = Checkpoint.open(dir)) {
                got = AdapterDeltaNorms.of(b, a, RuleBook.installed());
            }
            assertThat(got).extracting(AdapterDeltaNorms.ModuleDelta::weight)
                    .containsExactlyInAnyOrderElementsOf(expected.keySet());
            for (AdapterDeltaNorms.ModuleDelta d : got) {
                double want = expected.get(d.weight());
                assertThat(want).isPositive();
                assertThat(d.norm()).as(d.weight()).isCloseTo(want, within(want * 1e-9));
                assertThat(d.rank()).isEqualTo(4);
            }
        }
    }

    /** PEFT's v5 save of each legacy adapter (fused factors, cut per expert) changes each weight by as much. */
    @ParameterizedTest
    @ValueSource(strings = {"peft-saved-attn_experts=legacy-lora-attn_experts",
            "peft-saved-experts_gate=legacy-lora-experts_gate",
            "peft-saved-attn_experts_rslora-alpha-fixed=legacy-lora-attn_experts_rslora",
            "peft-saved-experts_gate_rslora-alpha-fixed=legacy-lora-experts_gate_rslora"})
    void aV5AdaptersDeltasAreItsLegacyOriginals(String pair) throws Exception {
        String[] names = pair.split("=");
        Map<String, Double> expected = denseNorms(Fixtures.tiny(names[1]));
        List<AdapterDeltaNorms.ModuleDelta> got;
        try (Checkpoint b = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"));
             Checkpoint a = Checkpoint.open(Fixtures.tiny(names[0]))) {
            got = AdapterDeltaNorms.of(b, a, RuleBook.installed());
        }
        assertThat(got).extracting(AdapterDeltaNorms.ModuleDelta::weight)
                .containsExactlyInAnyOrderElementsOf(expected.keySet());
        for (AdapterDeltaNorms.ModuleDelta d : got) {
            double want = expected.get(d.weight());
            assertThat(d.norm()).as(d.weight()).isCloseTo(want, within(want * 1e-6));
        }
    }

    @Test
    void aBaseThatIsAnAdapterIsRefused() throws Exception {
        try (Checkpoint b = Checkpoint.open(Fixtures.tiny("legacy-lora-experts_gate"));
             Checkpoint a = Checkpoint.open(Fixtures.tiny("legacy-lora-attn_experts"))) {
            assertThatThrownBy(() -> AdapterDeltaNorms.of(b, a, RuleBook.installed()))
                    .isInstanceOf(FuseboxException.class).hasMessageContaining("is an adapter");
        }
    }

    /** Module weight (legacy name) → ‖scale · B @ A‖_F, with the product built element by element. */
    private static Map<String, Double> denseNorms(Path dir) throws Exception {
        JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        double r = config.get("r").asDouble();
        double alpha = config.get("lora_alpha").asDouble();
        double scale = config.get("use_rslora").asBoolean() ? alpha / Math.sqrt(r) : alpha / r;
        Map<String, Double> out = new LinkedHashMap<>();
        try (Checkpoint c = Checkpoint.open(dir)) {
            for (String key : c.tensors().keySet()) {
                if (!key.endsWith(".lora_A.weight")) {
                    continue;
                }
                String module = key.substring(PREFIX.length(), key.length() - ".lora_A.weight".length());
                StoredTensor a = c.tensor(key).orElseThrow();
                StoredTensor b = c.tensor(key.replace("lora_A", "lora_B")).orElseThrow();
                long rank = a.shape().dim(0);
                long in = a.shape().dim(1);
                long outDim = b.shape().dim(0);
                MemorySegment av = a.data();
                MemorySegment bv = b.data();
                double sum = 0;
                for (long i = 0; i < outDim; i++) {
                    for (long j = 0; j < in; j++) {
                        double w = 0;
                        for (long k = 0; k < rank; k++) {
                            w += FloatCodec.get(bv, Dtype.F32, i * rank + k) * FloatCodec.get(av, Dtype.F32, k * in + j);
                        }
                        sum += (scale * w) * (scale * w);
                    }
                }
                out.put(module + ".weight", Math.sqrt(sum));
            }
        }
        return out;
    }
}
