package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.PlannedTarget;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** What both directions of adapter conversion share: the plan's assembly and the config file's text. */
final class AdapterPlans {

    /** The config's maps whose order PEFT reads as meaning. */
    private static final Set<String> ORDERED = Set.of("rank_pattern", "alpha_pattern");

    private AdapterPlans() {
    }

    static AdapterPlan assemble(Checkpoint adapter, String modelType, LoraRoles roles, String dtypeNote,
                                List<PlannedTarget> targets, ObjectNode config, List<String> warnings,
                                Map<String, TargetLora> lora, PeftVerdict verdict, Layout from, Layout to,
                                boolean nothingToConvert) throws FuseboxException {
        ConversionPlan plan = new ConversionPlan(adapter.location(), modelType, roles.rules() + dtypeNote, from, to,
                adapter.specs(), targets, Checkpoint.ADAPTER_WEIGHTS,
                Map.of(Checkpoint.ADAPTER_CONFIG, pythonJson(config)), warnings, List.of());
        return new AdapterPlan(plan, config, lora, verdict, nothingToConvert);
    }

    /** Puts {@code value} as an integer when it is one (as Python writes {@code 16}), else as a double. */
    static void putNumber(ObjectNode node, String key, double value) {
        if (value == Math.rint(value) && Math.abs(value) < 1L << 53) {
            node.put(key, (long) value);
        } else {
            node.put(key, value);
        }
    }

    /**
     * JSON as PEFT writes adapter_config.json ({@code json.dumps(config, indent=2, sort_keys=True)}), except that
     * {@code rank_pattern} and {@code alpha_pattern} keep their order: PEFT takes the first key in file order that
     * matches, so their order is meaning (sorted, {@code .*\.gate_up_proj} would come before the exact names).
     */
    static String pythonJson(JsonNode node) {
        StringBuilder s = new StringBuilder();
        write(node, s, 0, true);
        return s.append('\n').toString();
    }

    private static void write(JsonNode node, StringBuilder s, int depth, boolean sort) {
        String pad = "  ".repeat(depth + 1);
        if (node.isObject()) {
            if (node.isEmpty()) {
                s.append("{}");
                return;
            }
            Map<String, JsonNode> sorted = sort ? new TreeMap<>() : new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                sorted.put(e.getKey(), e.getValue());
            }
            s.append("{\n");
            List<String> keys = new ArrayList<>(sorted.keySet());
            for (int i = 0; i < keys.size(); i++) {
                s.append(pad).append(com.fasterxml.jackson.databind.node.TextNode.valueOf(keys.get(i))).append(": ");
                write(sorted.get(keys.get(i)), s, depth + 1, !(depth == 0 && ORDERED.contains(keys.get(i))));
                s.append(i + 1 < keys.size() ? ",\n" : "\n");
            }
            s.append("  ".repeat(depth)).append('}');
        } else if (node.isArray()) {
            if (node.isEmpty()) {
                s.append("[]");
                return;
            }
            s.append("[\n");
            for (int i = 0; i < node.size(); i++) {
                s.append(pad);
                write(node.get(i), s, depth + 1, true);
                s.append(i + 1 < node.size() ? ",\n" : "\n");
            }
            s.append("  ".repeat(depth)).append(']');
        } else {
            s.append(node);
        }
    }
}
