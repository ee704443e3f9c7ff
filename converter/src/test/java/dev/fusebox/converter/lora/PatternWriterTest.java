package dev.fusebox.converter.lora;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Pattern maps PEFT reads first-match-wins: the writer must order them so every target gets its own value. */
class PatternWriterTest {

    private static final Path FILE = Path.of("adapter_config.json");

    @Test
    void aSharedValueIsOneGroupPatternAsPeftWritesIt() throws Exception {
        List<PatternWriter.Need> needs = List.of(
                need("model.layers.0.mlp.experts.gate_up_proj", ".*\\.gate_up_proj", 8, 16),
                need("model.layers.1.mlp.experts.gate_up_proj", ".*\\.gate_up_proj", 8, 16),
                need("model.layers.0.self_attn.q_proj", null, 4, 8));
        PatternWriter.Patterns p = PatternWriter.write(FILE, 4, 8, Map.of(), Map.of(), needs);
        assertThat(p.rank()).containsExactly(Map.entry(".*\\.gate_up_proj", 8));
        assertThat(p.alpha()).containsExactly(Map.entry(".*\\.gate_up_proj", 16.0));
    }

    @Test
    void aCarriedPatternThatWouldCatchANewTargetIsOverruledByAnEarlierExactOne() throws Exception {
        Map<String, Integer> carried = new LinkedHashMap<>();
        carried.put(".*down_proj", 2);
        List<PatternWriter.Need> needs = List.of(
                need("model.layers.0.mlp.shared_expert.down_proj", null, 2, 8),
                need("model.layers.0.mlp.experts.down_proj", ".*\\.down_proj", 4, 8),
                need("model.layers.1.mlp.experts.down_proj", ".*\\.down_proj", 6, 8));
        PatternWriter.Patterns p = PatternWriter.write(FILE, 4, 8, carried, Map.of(), needs);
        for (PatternWriter.Need n : needs) {
            String key = PeftPatterns.decidingKey(FILE, p.rank().keySet(), n.name()).orElseThrow();
            assertThat(p.rank().get(key)).as(n.name()).isEqualTo(n.rank());
        }
        assertThat(p.rank().keySet()).containsExactly("model\\.layers\\.0\\.mlp\\.experts\\.down_proj",
                "model\\.layers\\.1\\.mlp\\.experts\\.down_proj", ".*down_proj");
    }

    private static PatternWriter.Need need(String name, String group, int rank, double alpha) {
        return new PatternWriter.Need(name, Optional.ofNullable(group), rank, alpha);
    }
}
