package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.Dtype;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * LoRA on stacked expert parameters that both layouts hold under the same name, in a family whose rules convert
 * no experts (hy_v4's {@code mlp.experts.gate_up_proj} and {@code down_proj}): PEFT's ParamWrapper factors of them
 * are the same adapter in either layout, so they are copied as they are, {@code target_parameters} with them,
 * while the adapter's other modules convert as any others do (hy_v4's {@code linear_gate}, {@code gate_proj} on v5).
 */
final class KeptStackedParameters {

    /**
     * The adapter split: {@code kept}, the modules with LoRA on such parameters, and the {@code target_parameters}
     * entries naming them; {@code rest} and {@code restConfig}, the other modules and the config without those
     * entries, planned as an adapter of their own.
     */
    record Split(AdapterTensors kept, List<String> entries, AdapterTensors rest, AdapterConfig restConfig) {
    }

    private KeptStackedParameters() {
    }

    /** The split, when the adapter has LoRA on such parameters; else empty. */
    static Optional<Split> split(Path file, AdapterConfig config, AdapterTensors tensors, LoraRoles roles)
            throws FuseboxException {
        if (config.targetParameters().isEmpty() || !roles.rules().converters().isEmpty()) {
            return Optional.empty();
        }
        Map<String, LoraPair> kept = new LinkedHashMap<>();
        Map<String, LoraPair> rest = new LinkedHashMap<>();
        Set<String> entries = new LinkedHashSet<>();
        for (LoraPair pair : tensors.pairs().values()) {
            String holder = NestedWrapper.of(pair.module()).holder();
            List<String> naming = new ArrayList<>();
            // a stacked [E, out, in] parameter's A has r rows per expert; a Linear's weight wrapped the same way r
            boolean stacked = pair.rank() > PeftPatterns.rank(config, holder);
            for (String entry : stacked ? config.targetParameters() : List.<String>of()) {
                String param = holder + "." + LoraRoles.leaf(entry);
                if ((param.equals(entry) || param.endsWith("." + entry)) && same(file, roles, param)) {
                    naming.add(entry);
                }
            }
            (naming.isEmpty() ? rest : kept).put(pair.module(), pair);
            entries.addAll(naming);
        }
        if (kept.isEmpty()) {
            return Optional.empty();
        }
        ObjectNode raw = config.raw();
        ArrayNode left = raw.putArray("target_parameters");
        config.targetParameters().stream().filter(e -> !entries.contains(e)).forEach(left::add);
        if (left.isEmpty()) {
            raw.putNull("target_parameters");
        }
        return Optional.of(new Split(new AdapterTensors(kept, List.of()), List.copyOf(entries),
                new AdapterTensors(rest, tensors.others()), AdapterConfig.of(config.file(), raw)));
    }

    /**
     * The plan: the kept modules' factors copied under their names, beside {@code rest}'s plan of the other
     * modules (none: the adapter loads as it is in both layouts, and the output is a copy of it).
     */
    static AdapterPlan plan(Checkpoint adapter, AdapterConfig config, Split split, Optional<AdapterPlan> rest,
                            LoraRoles roles, Optional<Dtype> dtype) throws FuseboxException {
        List<PlannedTarget> targets = new ArrayList<>();
        Map<String, TargetLora> lora = new LinkedHashMap<>();
        for (LoraPair pair : split.kept().pairs().values()) {
            String name = NestedWrapper.of(pair.module()).holder();
            int rank = PeftPatterns.rank(config, name);
            double alpha = PeftPatterns.alpha(config, name);
            TargetLora t = new TargetLora(List.of(pair.module()), List.of(rank), List.of(alpha), rank, alpha,
                    PeftPatterns.scale(config.useRslora(), rank, alpha));
            for (char factor : new char[] {'A', 'B'}) {
                lora.put(AdapterTensors.key(pair.module(), factor), t);
            }
            targets.add(Targets.copy(AdapterTensors.key(pair.module(), 'A'), pair.a(), dtype));
            targets.add(Targets.copy(AdapterTensors.key(pair.module(), 'B'), pair.b(), dtype));
        }
        List<String> warnings = new ArrayList<>();
        ObjectNode written = config.raw();
        PeftVerdict verdict = new PeftVerdict(PeftVerdict.Outcome.LOADS_EXACTLY, PeftCheck.PEFT + " would load it "
                + "exactly: its LoRA on " + String.join(", ", split.entries()) + " names stacked parameters both "
                + "layouts hold under the same names, and it has no module whose name v5 changes; nothing to "
                + "convert.", List.of());
        Layout from = Layout.LEGACY;
        Layout to = Layout.V5;
        boolean nothing = dtype.isEmpty();
        if (rest.isPresent()) {
            AdapterPlan r = rest.get();
            targets.addAll(r.plan().targets());
            lora.putAll(r.lora());
            warnings.addAll(r.plan().warnings());
            written = r.config();
            ArrayNode entries = written.putArray("target_parameters");
            split.entries().forEach(entries::add);
            for (JsonNode e : r.config().path("target_parameters")) {
                entries.add(e.asText());
            }
            verdict = r.peftCheck();
            from = r.plan().from();
            to = r.plan().to();
            nothing = r.nothingToConvert();
        }
        targets.sort((a, b) -> a.key().compareTo(b.key()));
        warnings.add("The LoRA on " + String.join(", ", split.entries()) + " is copied as it is: both layouts hold "
                + "these stacked parameters under the same names and layout.");
        return AdapterPlans.assemble(adapter, roles.modelType(), roles, dtype.map(d -> " as " + d.name()).orElse(""),
                targets, written, warnings, lora, verdict, from, to, nothing);
    }

    /** Whether model tensor {@code param} is the same in both layouts: no converter takes it, no rule renames it. */
    private static boolean same(Path file, LoraRoles roles, String param) throws FuseboxException {
        return !roles.converted(file, param) && roles.renamed(param, true).equals(param)
                && roles.renamed(param, false).equals(param);
    }
}
