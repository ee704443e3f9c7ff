package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The inverse of {@link RenamedStackedToV5}: a v5 adapter with LoRA on the experts of a family whose 4.x experts
 * were stacked parameters of the same layout (granitemoe's {@code experts.gate_up_proj} is 4.x's
 * {@code block_sparse_moe.input_linear.weight}) gets each wrapper's factors, as they are, under the 4.x module PEFT
 * 0.21's target_parameters wraps there; aria_text's, each the other transposed ({@link TransposedExpertFactors}).
 */
final class RenamedStackedToLegacy {

    private RenamedStackedToLegacy() {
    }

    /** The plan, or empty when no module of the adapter is the experts module of such a family. */
    static Optional<AdapterPlan> plan(Checkpoint adapter, AdapterConfig config, AdapterTensors tensors,
                                      LoraRoles roles, Optional<Dtype> dtype) throws FuseboxException {
        Optional<List<String>> order = RenamedStackedToV5.parameterOrder(roles.modelType());
        if (order.isEmpty()) {
            return Optional.empty();
        }
        Path file = adapter.location();
        Map<String, String> legacyModule = new LinkedHashMap<>();
        Map<String, String> legacyParameter = new LinkedHashMap<>();
        Map<String, String> routers = new LinkedHashMap<>();
        for (String module : tensors.pairs().keySet()) {
            NestedWrapper wrapper = NestedWrapper.of(module);
            String holder = wrapper.holder();
            if (Set.of("gate", "router").contains(LoraRoles.leaf(module))
                    && config.targetParameters().contains(module + ".weight")) {
                String weight = roles.renamed(module + ".weight", false);
                routers.put(module, weight.substring(0, weight.length() - ".weight".length()));
                continue;
            }
            if (!LoraRoles.leaf(holder).equals("experts")) {
                continue;
            }
            List<String> held = new ArrayList<>();
            for (String p : order.get()) {
                String name = holder + "." + p;
                if (config.targetParameters().stream().anyMatch(e -> name.equals(e) || name.endsWith("." + e))) {
                    held.add(p);
                }
            }
            Optional<String> parameter = wrapper.parameter(held);
            if (parameter.isEmpty()) {
                throw new FuseboxException(Problem.INVALID_CONFIG, file, module, "it is " + (wrapper.depth() + 1)
                        + " wrappers deep around " + holder + ", but target_parameters names only " + held.size()
                        + " of its parameters " + order.get());
            }
            String v5 = holder + "." + parameter.get();
            String weight = roles.renamed(v5, false);
            if (!weight.endsWith(".weight")) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, module, "the " + roles.rules().family()
                        + " rules give " + v5 + " no 4.x parameter to carry its LoRA");
            }
            legacyModule.put(module, weight.substring(0, weight.length() - ".weight".length()));
            legacyParameter.put(v5, weight);
        }
        if (legacyModule.isEmpty()) {
            return Optional.empty();
        }
        Set<String> patterned = new LinkedHashSet<>(legacyModule.keySet());
        patterned.addAll(routers.keySet());
        for (String module : patterned) {
            for (String pattern : union(config.rankPattern().keySet(), config.alphaPattern().keySet())) {
                if (PeftPatterns.matches(config.file(), pattern, module)) {
                    throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "its rank_pattern or alpha_pattern "
                            + "entry '" + pattern + "' matches the experts' wrapper " + module + "; Fusebox converts "
                            + roles.modelType() + " expert LoRA back to 4.x only without patterns on it");
                }
            }
        }
        boolean transposed = RenamedStackedToV5.transposed(roles.modelType());
        List<PlannedTarget> targets = new ArrayList<>();
        Map<String, TargetLora> lora = new LinkedHashMap<>();
        for (LoraPair pair : tensors.pairs().values()) {
            String written = legacyModule.getOrDefault(pair.module(), routers.getOrDefault(pair.module(),
                    pair.module()));
            if (!roles.renamedToLegacy(written).equals(written) && !legacyModule.containsKey(pair.module())
                    && !routers.containsKey(pair.module())) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, pair.module(), "the " + roles.rules().family()
                        + " rules rename it in 4.x, and Fusebox converts only the experts' LoRA of such an adapter");
            }
            int rank = PeftPatterns.rank(config, pair.module());
            double alpha = PeftPatterns.alpha(config, pair.module());
            TargetLora t = new TargetLora(List.of(pair.module()), List.of(rank), List.of(alpha), rank, alpha,
                    PeftPatterns.scale(config.useRslora(), rank, alpha));
            for (char factor : new char[] {'A', 'B'}) {
                lora.put(AdapterTensors.key(written, factor), t);
            }
            if (transposed && legacyModule.containsKey(pair.module())) {
                targets.addAll(TransposedExpertFactors.swapped(file, pair, written, rank, dtype));
            } else {
                targets.add(Targets.copy(AdapterTensors.key(written, 'A'), pair.a(), dtype));
                targets.add(Targets.copy(AdapterTensors.key(written, 'B'), pair.b(), dtype));
            }
        }
        for (TensorSpec s : tensors.others()) {
            String key = AdapterTensors.modelKey(s);
            if (!roles.renamed(key, false).equals(key) || legacyModule.keySet().stream().anyMatch(key::startsWith)) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, s.key(), "Fusebox converts no tensor but LoRA "
                        + "factors of the experts, and tensors v5 and 4.x name alike, back to 4.x for "
                        + roles.modelType());
            }
            targets.add(Targets.copy(s.key(), s, dtype));
        }
        targets.sort((a, b) -> a.key().compareTo(b.key()));
        PeftVerdict verdict = new PeftVerdict(PeftVerdict.Outcome.NOT_APPLICABLE, "It is already in the v5 format, "
                + "which PEFT 0.21 loads as it is; PEFT cannot write the legacy format back, Fusebox can.", List.of());
        String names = String.join(", ", new LinkedHashSet<>(legacyParameter.values().stream()
                .map(w -> LoraRoles.leaf(w.substring(0, w.length() - ".weight".length())) + ".weight").toList()));
        List<String> warnings = new ArrayList<>();
        warnings.add(transposed ? "The experts' LoRA is written under the 4.x names of their "
                + "stacked parameters (" + names + ") with each factor the other one transposed expert by expert: "
                + "4.x names them otherwise and does not mark them is_transposed, which makes PEFT swap the roles "
                + "of A and B." : "The experts' LoRA is copied as it is under the 4.x names of their stacked "
                + "parameters (" + names + "): 4.x names them otherwise, in the same layout.");
        if (!routers.isEmpty()) {
            warnings.add("The router's LoRA on its weight is copied as LoRA on the 4.x router module ("
                    + String.join(", ", new LinkedHashSet<>(routers.values().stream().map(LoraRoles::leaf).toList()))
                    + ", an nn.Linear there), named in full in target_modules.");
        }
        return Optional.of(AdapterPlans.assemble(adapter, roles.modelType(), roles, dtype.map(d -> " as "
                + d.name()).orElse(""), targets, legacyConfig(config, legacyParameter, routers), warnings, lora, verdict,
                Layout.V5, Layout.LEGACY, false));
    }

    /**
     * The config with each target_parameters entry naming an experts parameter given its 4.x name; each router's
     * weight, named in full, is the router module, named in full, in target_modules instead.
     */
    private static ObjectNode legacyConfig(AdapterConfig config, Map<String, String> legacyParameter,
                                           Map<String, String> routers) {
        ObjectNode c = config.raw();
        if (!routers.isEmpty()) {
            Set<String> modules = new LinkedHashSet<>(config.targetModules());
            modules.addAll(routers.values());
            ArrayNode tm = c.putArray("target_modules");
            modules.forEach(tm::add);
        }
        Set<String> out = new LinkedHashSet<>();
        for (String entry : config.targetParameters()) {
            if (routers.containsKey(entry.substring(0, Math.max(0, entry.length() - ".weight".length())))) {
                continue;
            }
            int parts = entry.split("\\.", -1).length + 1;
            Set<String> names = new LinkedHashSet<>();
            for (Map.Entry<String, String> p : legacyParameter.entrySet()) {
                if (p.getKey().equals(entry)) {
                    names.add(p.getValue());
                } else if (p.getKey().endsWith("." + entry)) {
                    String[] legacy = p.getValue().split("\\.", -1);
                    names.add(String.join(".", List.of(legacy).subList(Math.max(0, legacy.length - parts),
                            legacy.length)));
                }
            }
            out.addAll(names.isEmpty() ? List.of(entry) : names);
        }
        ArrayNode tp = c.putArray("target_parameters");
        out.forEach(tp::add);
        return c;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> out = new LinkedHashSet<>(a);
        out.addAll(b);
        return out;
    }
}
