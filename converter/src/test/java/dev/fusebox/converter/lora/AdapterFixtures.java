package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.convert.ConversionResult;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.PlanExecutor;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.Dtype;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** Converting adapters in tests, and comparing adapter configs by what PEFT reads from them. */
final class AdapterFixtures {

    static final List<String> NAMES = List.of("attn_experts", "attn_experts_rslora", "experts_gate",
            "experts_gate_rslora");

    private AdapterFixtures() {
    }

    static AdapterPlan plan(Path adapter, Optional<Path> base, Optional<Layout> to, Optional<Dtype> dtype)
            throws Exception {
        try (Checkpoint c = Checkpoint.open(adapter)) {
            return AdapterPlanner.plan(c, base, RuleBook.bundled(), to, dtype);
        }
    }

    static ConversionResult convert(Path adapter, Path out, Optional<Path> base, Optional<Layout> to,
                                    Optional<Dtype> dtype) throws Exception {
        try (Checkpoint c = Checkpoint.open(adapter)) {
            AdapterPlan plan = AdapterPlanner.plan(c, base, RuleBook.bundled(), to, dtype);
            return PlanExecutor.execute(c, plan.plan(), out, ConvertOptions.DEFAULTS, ProgressListener.NONE,
                    Cancellation.NEVER);
        }
    }

    static JsonNode json(Path file) throws IOException {
        return JsonMapper.builder().build().readTree(file.toFile());
    }

    /**
     * The fields of adapter_config.json that decide what PEFT builds, normalised: lists as sets, numbers as doubles,
     * pattern maps without their order (which decides only between overlapping patterns; these tests use none).
     */
    static SortedMap<String, Object> meaning(JsonNode c) {
        TreeMap<String, Object> m = new TreeMap<>();
        for (String f : List.of("peft_type", "r", "bias", "use_rslora", "use_dora", "fan_in_fan_out",
                "layers_to_transform", "layers_pattern")) {
            JsonNode v = c.get(f);
            m.put(f, v == null || v.isNull() ? null : v.isNumber() ? (Object) v.doubleValue() : v.asText());
        }
        m.put("lora_alpha", c.get("lora_alpha").doubleValue());
        m.put("lora_dropout", c.path("lora_dropout").doubleValue());
        for (String f : List.of("target_modules", "target_parameters", "modules_to_save")) {
            JsonNode v = c.get(f);
            if (v != null && v.isArray()) {
                TreeSet<String> s = new TreeSet<>();
                v.forEach(x -> s.add(x.asText()));
                m.put(f, s.isEmpty() && !f.equals("target_modules") ? null : s);
            } else {
                m.put(f, v == null || v.isNull() ? null : v.asText());
            }
        }
        for (String f : List.of("rank_pattern", "alpha_pattern")) {
            TreeMap<String, Double> entries = new TreeMap<>();
            JsonNode v = c.get(f);
            if (v != null && v.isObject()) {
                v.properties().forEach(e -> entries.put(e.getKey(), e.getValue().doubleValue()));
            }
            m.put(f, entries);
        }
        return m;
    }

    static void assertSameMeaning(Path actual, Path expected) throws IOException {
        assertThat(meaning(json(actual))).isEqualTo(meaning(json(expected)));
    }
}
