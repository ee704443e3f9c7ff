package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Converts a legacy adapter whose experts' LoRA sits on parameters that were stacked in 4.x already and that v5
 * only renames (granitemoe's {@code block_sparse_moe.input_linear.weight} is {@code experts.gate_up_proj}). Both
 * are [E, out, in] read by {@code F.linear} per expert in the same gate-then-up order, and PEFT 0.21's ParamWrapper
 * (no {@code is_transposed} on either side) makes the same [r·E, in] and [out, r·E] factors of them, so the factors
 * are copied as they are under the names PEFT gives them on v5: one wrapper per parameter around the v5 experts
 * module, the first of its parameters innermost ({@code experts.base_layer} when both are targeted). aria_text's
 * parameters keep their [E, in, out] layout too, but only v5's experts say {@code is_transposed}, so PEFT's factors
 * of them swap roles: {@link TransposedExpertFactors}.
 */
final class RenamedStackedToV5 {

    /** A family's v5 experts' parameters in the order PEFT wraps them, and whether its factors swap roles. */
    private record Stacked(List<String> parameters, boolean transposed) {
    }

    /**
     * The model types whose renamed stacked parameters keep their layout on v5 (checked against transformers
     * 4.57.6 and 5.18 by tools/oracle-lora.py).
     */
    private static final Map<String, Stacked> SAME_LAYOUT = Map.of(
            "granitemoe", new Stacked(List.of("gate_up_proj", "down_proj"), false),
            "granitemoeshared", new Stacked(List.of("gate_up_proj", "down_proj"), false),
            "granitemoehybrid", new Stacked(List.of("gate_up_proj", "down_proj"), false),
            "aria_text", new Stacked(List.of("gate_up_proj", "down_proj"), true));

    private RenamedStackedToV5() {
    }

    /** Whether adapters of {@code modelType} with LoRA on renamed stacked parameters convert by renaming. */
    static boolean converts(String modelType) {
        return SAME_LAYOUT.containsKey(modelType);
    }

    /** For such a model type, its v5 experts' parameters in the order PEFT wraps them, innermost first. */
    static Optional<List<String>> parameterOrder(String modelType) {
        return Optional.ofNullable(SAME_LAYOUT.get(modelType)).map(Stacked::parameters);
    }

    /** Whether only one side's experts say {@code is_transposed}, so each factor becomes the other transposed. */
    static boolean transposed(String modelType) {
        return SAME_LAYOUT.containsKey(modelType) && SAME_LAYOUT.get(modelType).transposed();
    }

    /**
     * The plan: {@code renamed} maps each such module (legacy name) to its v5 parameter, {@code others} the
     * adapter's other modules to their v5 names, of which {@code routers} are the routers beside those experts (an
     * {@code nn.Linear} in 4.x, a TopKRouter on v5, whose LoRA PEFT 0.21 puts on its {@code weight} parameter when
     * target_parameters names it: the same [r, in] and [out, r] factors, as ParamWrapper swaps nothing of a 2-D
     * parameter); {@code verdict} is what PEFT alone would do with the adapter. {@code refusal} is thrown for what
     * a renaming cannot carry.
     */
    static AdapterPlan plan(Checkpoint adapter, AdapterConfig config, AdapterTensors tensors, LoraRoles roles,
                            Map<String, String> renamed, Map<String, String> others, Map<String, String> routers,
                            PeftVerdict verdict, Optional<Dtype> dtype, FuseboxException refusal)
            throws FuseboxException {
        List<String> order = SAME_LAYOUT.get(roles.modelType()).parameters();
        boolean transposed = transposed(roles.modelType());
        for (Map.Entry<String, String> o : others.entrySet()) {
            if (!o.getKey().equals(o.getValue()) && !routers.containsKey(o.getKey())) {
                throw refusal;
            }
        }
        if (!routers.isEmpty() && config.targetModulesRegex().isPresent()) {
            throw refusal;
        }
        Set<String> patterned = new LinkedHashSet<>(renamed.keySet());
        patterned.addAll(routers.keySet());
        for (String module : patterned) {
            for (String pattern : config.rankPattern().keySet()) {
                if (PeftPatterns.matches(config.file(), pattern, module)) {
                    throw refusal;
                }
            }
            for (String pattern : config.alphaPattern().keySet()) {
                if (PeftPatterns.matches(config.file(), pattern, module)) {
                    throw refusal;
                }
            }
        }
        Map<String, List<String>> byHolder = new LinkedHashMap<>();
        for (String v5 : renamed.values()) {
            String holder = v5.substring(0, v5.lastIndexOf('.'));
            if (!order.contains(LoraRoles.leaf(v5))) {
                throw refusal;
            }
            byHolder.computeIfAbsent(holder, k -> new ArrayList<>()).add(LoraRoles.leaf(v5));
        }
        byHolder.values().forEach(l -> l.sort((a, b) -> Integer.compare(order.indexOf(a), order.indexOf(b))));
        List<PlannedTarget> targets = new ArrayList<>();
        Map<String, TargetLora> lora = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        for (LoraPair pair : tensors.pairs().values()) {
            String module = pair.module();
            String v5 = renamed.get(module);
            String written = routers.getOrDefault(module, module);
            if (v5 != null) {
                String holder = v5.substring(0, v5.lastIndexOf('.'));
                List<String> held = byHolder.get(holder);
                written = NestedWrapper.module(holder, held, LoraRoles.leaf(v5));
            }
            int rank = PeftPatterns.rank(config, module);
            double alpha = PeftPatterns.alpha(config, module);
            TargetLora t = new TargetLora(List.of(module), List.of(rank), List.of(alpha), rank, alpha,
                    PeftPatterns.scale(config.useRslora(), rank, alpha));
            for (char factor : new char[] {'A', 'B'}) {
                lora.put(AdapterTensors.key(written, factor), t);
            }
            if (transposed && v5 != null) {
                targets.addAll(TransposedExpertFactors.swapped(adapter.location(), pair, written, rank, dtype));
            } else {
                targets.add(Targets.copy(AdapterTensors.key(written, 'A'), pair.a(), dtype));
                targets.add(Targets.copy(AdapterTensors.key(written, 'B'), pair.b(), dtype));
            }
        }
        for (TensorSpec s : tensors.others()) {
            String key = AdapterTensors.modelKey(s);
            if (!roles.renamed(key, true).equals(key) || renamed.keySet().stream().anyMatch(key::startsWith)) {
                throw refusal;
            }
            targets.add(Targets.copy(s.key(), s, dtype));
        }
        targets.sort((a, b) -> a.key().compareTo(b.key()));
        warnings.add("The experts' LoRA on " + String.join(", ", new LinkedHashSet<>(renamed.keySet().stream()
                .map(LoraRoles::leaf).toList())) + (transposed ? " is written under the v5 experts' names with "
                + "each factor the other one transposed expert by expert: v5 renames these stacked parameters "
                + "and marks them is_transposed, which makes PEFT swap the roles of A and B." : " is copied as it "
                + "is under the v5 experts' names: v5 renames these stacked parameters without changing their "
                + "layout."));
        if (!routers.isEmpty()) {
            warnings.add("The router's LoRA on " + String.join(", ", new LinkedHashSet<>(routers.keySet().stream()
                    .map(LoraRoles::leaf).toList())) + " is copied as LoRA on the v5 router's weight, named in full in "
                    + "target_parameters: v5's router is a TopKRouter, which PEFT cannot wrap as a module.");
        }
        return AdapterPlans.assemble(adapter, roles.modelType(), roles, dtype.map(d -> " as " + d.name())
                .orElse(""), targets, v5Config(config, renamed, others, routers), warnings, lora, verdict,
                Layout.LEGACY, Layout.V5, false);
    }

    /**
     * The config with each target_parameters entry that names a renamed parameter (by full name or by suffix, as
     * PEFT matches them) replaced by its v5 name, in full or as many trailing parts; kept as well where it names
     * another module's weight too (granitemoeshared's {@code shared_mlp.input_linear}, a Linear in both). Each
     * router's weight is added by its full v5 name, and the target_modules entries that named only routers go.
     */
    private static ObjectNode v5Config(AdapterConfig config, Map<String, String> renamed,
                                       Map<String, String> others, Map<String, String> routers) {
        ObjectNode c = config.raw();
        if (!routers.isEmpty()) {
            ArrayNode modules = c.putArray("target_modules");
            for (String entry : config.targetModules()) {
                boolean kept = others.keySet().stream().filter(m -> !routers.containsKey(m))
                        .anyMatch(m -> m.equals(entry) || m.endsWith("." + entry));
                boolean router = routers.keySet().stream().anyMatch(m -> m.equals(entry) || m.endsWith("." + entry));
                if (kept || !router) {
                    modules.add(entry);
                }
            }
        }
        Set<String> out = new LinkedHashSet<>();
        for (String entry : config.targetParameters()) {
            int parts = entry.split("\\.", -1).length - 1;
            Set<String> names = new LinkedHashSet<>();
            for (Map.Entry<String, String> r : renamed.entrySet()) {
                String weight = r.getKey() + ".weight";
                if (weight.equals(entry)) {
                    names.add(r.getValue());
                } else if (weight.endsWith("." + entry)) {
                    String[] v5 = r.getValue().split("\\.", -1);
                    names.add(String.join(".", List.of(v5).subList(Math.max(0, v5.length - parts), v5.length)));
                }
            }
            boolean alsoOthers = others.keySet().stream().map(m -> m + ".weight")
                    .anyMatch(w -> w.equals(entry) || w.endsWith("." + entry));
            if (names.isEmpty() || alsoOthers) {
                out.add(entry);
            }
            out.addAll(names);
        }
        routers.values().forEach(r -> out.add(r + ".weight"));
        ArrayNode tp = c.putArray("target_parameters");
        out.forEach(tp::add);
        return c;
    }
}
