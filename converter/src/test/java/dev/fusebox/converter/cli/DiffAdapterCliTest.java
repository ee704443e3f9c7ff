package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.FloatCodec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code diff} of an adapter against its base says which weights the adapter changes, with the size of each
 * delta (the figures themselves are checked against dense products in AdapterDeltaNormsTest), on either side;
 * with --values, each weight's own norm, read here from the legacy fixture, and the delta relative to it.
 */
class DiffAdapterCliTest {

    private static final String ADAPTER = Fixtures.tiny("legacy-lora-experts_gate").toString();

    @Test
    void anAdapterAgainstItsBaseListsTheWeightsItChanges() throws Exception {
        List<String> expected = new ArrayList<>();
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-lora-experts_gate"))) {
            for (String key : c.tensors().keySet()) {
                if (key.endsWith(".lora_A.weight")) {
                    expected.add(key.substring("base_model.model.".length(), key.length() - ".lora_A.weight".length())
                            + ".weight");
                }
            }
        }
        for (String base : new String[] {"legacy-base", "v5-base.float32.safetensors"}) {
            CliRun run = CliRun.of("diff", Fixtures.tiny(base).toString(), ADAPTER, "--json");
            JsonNode adapter = new ObjectMapper().readTree(run.out()).get("adapter");
            assertThat(adapter.get("base").asText()).isEqualTo("A");
            List<String> weights = new ArrayList<>();
            for (JsonNode m : adapter.get("modules")) {
                weights.add(m.get("weight").asText());
                assertThat(m.get("rank").asInt()).isEqualTo(4);
                assertThat(m.get("scale").asDouble()).isEqualTo(2.0);
                assertThat(m.get("delta_norm").asDouble()).isPositive();
            }
            assertThat(weights).containsExactlyInAnyOrderElementsOf(expected);
        }
        CliRun swapped = CliRun.of("diff", ADAPTER, Fixtures.tiny("legacy-base").toString());
        assertThat(swapped.out()).contains("the adapter changes " + expected.size() + " weights of B",
                "model.layers.1.block_sparse_moe.gate.weight");
    }

    @Test
    void withValuesEachWeightsNormInTheBaseGivesTheRelativeFigure() throws Exception {
        try (Checkpoint base = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            for (String side : new String[] {"legacy-base", "v5-base.float32.safetensors"}) {
                CliRun run = CliRun.of("diff", Fixtures.tiny(side).toString(), ADAPTER, "--values", "--json");
                JsonNode modules = new ObjectMapper().readTree(run.out()).get("adapter").get("modules");
                assertThat(modules).hasSize(26);
                for (JsonNode m : modules) {
                    // ‖W‖ of the legacy weight, read here; a v5 base holds the same values in its fused tensors.
                    StoredTensor w = base.tensor(m.get("weight").asText()).orElseThrow();
                    double sum = 0;
                    for (long i = 0; i < w.shape().elementCount(); i++) {
                        double x = FloatCodec.get(w.data(), w.dtype(), i);
                        sum += x * x;
                    }
                    double norm = Math.sqrt(sum);
                    assertThat(m.get("weight_norm").asDouble()).isCloseTo(norm, within(1e-12 * norm));
                    assertThat(m.get("relative").asDouble()).isCloseTo(m.get("delta_norm").asDouble() / norm,
                            within(1e-12 * m.get("relative").asDouble()));
                }
            }
        }
        assertThat(CliRun.of("diff", ADAPTER, Fixtures.tiny("legacy-base").toString(), "--values").out())
                .contains("(‖scale·B@A‖_F, and over ‖W‖_F):");
        JsonNode layoutOnly = new ObjectMapper().readTree(CliRun.of("diff", Fixtures.tiny("legacy-base").toString(),
                ADAPTER, "--json").out()).get("adapter").get("modules").get(0);
        assertThat(layoutOnly.has("relative")).isFalse();
    }

    @Test
    void twoAdaptersOrTwoModelsHaveNoAdapterSection() throws Exception {
        CliRun run = CliRun.of("diff", ADAPTER, Fixtures.tiny("legacy-lora-attn_experts").toString(), "--json");
        assertThat(new ObjectMapper().readTree(run.out()).has("adapter")).isFalse();
    }
}
