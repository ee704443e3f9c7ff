package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.ModelTypeGuess;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.rules.RuleSet;
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
 * Plans the conversion of a PEFT LoRA adapter across the v5 boundary, either way. The base model (given, or the
 * adapter's {@code base_model_name_or_path} when that is a local directory) tells the family and the experts'
 * shapes; without one, the family comes from the adapter's keys and the shapes from its tensors.
 */
public final class AdapterPlanner {

    private AdapterPlanner() {
    }

    /**
     * The plan converting {@code adapter} to {@code to} (by default the other layout), its tensors in
     * {@code dtype} when given (else each in its own).
     */
    public static AdapterPlan plan(Checkpoint adapter, Optional<Path> basePath, RuleBook book, Optional<Layout> to,
                                   Optional<Dtype> dtype) throws FuseboxException {
        Path file = adapter.location();
        AdapterConfig config = config(adapter);
        if (dtype.isPresent() && !dtype.get().decodable()) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, "its factors can be written in a float type "
                    + "(float64, float32, bfloat16, float16), not " + dtype.get().torchName(), Remedy.FACTOR_DTYPE);
        }
        Optional<BaseModel> base = base(adapter, basePath, book);
        AdapterTensors tensors = AdapterTensors.of(file, adapter.specs());
        LoraRoles roles = roles(adapter, base, book, tensors);
        if (roles.rules().bornFused()) {
            return BornFusedExperts.plan(adapter, config, tensors, roles, base, to, dtype);
        }
        Optional<KeptStackedParameters.Split> kept = KeptStackedParameters.split(file, config, tensors, roles);
        if (kept.isPresent()) {
            KeptStackedParameters.Split split = kept.get();
            Optional<AdapterPlan> rest = split.rest().pairs().isEmpty() && split.rest().others().isEmpty()
                    ? Optional.empty()
                    : Optional.of(plan(adapter, split.restConfig(), split.rest(), roles, base, to, dtype,
                    split.kept().pairs().size()));
            return KeptStackedParameters.plan(adapter, config, split, rest, roles, dtype);
        }
        return plan(adapter, config, tensors, roles, base, to, dtype, 0);
    }

    /**
     * The plan of the adapter's {@code tensors} under {@code config}; {@code keptModules} modules of it with LoRA
     * on stacked parameters both layouts name alike are planned apart ({@link KeptStackedParameters}), and PEFT
     * applies their LoRA as it is.
     */
    private static AdapterPlan plan(Checkpoint adapter, AdapterConfig config, AdapterTensors tensors,
                                    LoraRoles roles, Optional<BaseModel> base, Optional<Layout> to,
                                    Optional<Dtype> dtype, int keptModules) throws FuseboxException {
        Path file = adapter.location();
        Optional<AdapterPlan> renamedStacked = renamedStackedParameters(adapter, config, tensors, roles, base, to,
                dtype);
        if (renamedStacked.isPresent()) {
            return renamedStacked.get();
        }
        if (to.isEmpty() || to.get() == Layout.LEGACY) {
            Optional<AdapterPlan> back = RenamedStackedToLegacy.plan(adapter, config, tensors, roles, dtype);
            if (back.isPresent()) {
                return back.get();
            }
        }
        Layout from = layout(adapter, config, tensors, roles);
        if (from == Layout.UNKNOWN) {
            return new LegacyToV5(file, config, tensors, roles, base, dtype, keptModules).plan(adapter);
        }
        Layout target = to.orElse(from.other());
        if (target == Layout.UNKNOWN) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, "cannot be converted to an unknown layout");
        }
        if (target == from) {
            throw new FuseboxException(Problem.ALREADY_CONVERTED, file, "is already a " + from.jsonName()
                    + " adapter; nothing to convert");
        }
        if (from == Layout.LEGACY && base.isPresent()) {
            base.get().checkHas(file, tensors.pairs().values());
        }
        return from == Layout.LEGACY
                ? new LegacyToV5(file, config, tensors, roles, base, dtype, keptModules).plan(adapter)
                : new V5ToLegacy(adapter, config, tensors, roles, base, dtype).plan();
    }

    static AdapterConfig config(Checkpoint adapter) throws FuseboxException {
        if (adapter.kind() != CheckpointKind.ADAPTER) {
            throw new FuseboxException(Problem.UNSUPPORTED, adapter.location(), "is a model, not a LoRA adapter");
        }
        AdapterConfig config = adapter.adapterConfig().orElseThrow(() -> new FuseboxException(Problem.NOT_A_CHECKPOINT,
                adapter.location(), "has no adapter_config.json beside it, which an adapter conversion needs"));
        if (!config.peftType().equals("LORA")) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "peft_type is " + config.peftType()
                    + "; Fusebox converts LoRA adapters");
        }
        return config;
    }

    /** The base model named, else the adapter's {@code base_model_name_or_path} when it is a local directory. */
    static Optional<BaseModel> base(Checkpoint adapter, Optional<Path> given, RuleBook book) throws FuseboxException {
        Optional<Path> path = given.isPresent() ? given : adapter.baseModelDirectory();
        if (path.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(BaseModel.open(path.get(), book));
    }

    /**
     * The family: the base model's type; without a base config, the type the module names show (Mixtral's
     * {@code block_sparse_moe.experts.N.w1}), else the rules that fit a legacy adapter's module names best (a v5
     * adapter's fused names look alike across families, so it needs the base).
     */
    private static LoraRoles roles(Checkpoint adapter, Optional<BaseModel> base, RuleBook book,
                                   AdapterTensors tensors) throws FuseboxException {
        Optional<String> declared = base.flatMap(BaseModel::config).flatMap(c -> c.modelType());
        if (declared.isPresent()) {
            String type = declared.get();
            RuleSet rules = book.forModelType(type).orElseThrow(() -> new FuseboxException(Problem.NO_RULES,
                    adapter.location(), "is an adapter for model type '" + type + "', for which Fusebox has no "
                    + "conversion rules; add a rule file"));
            return new LoraRoles(rules, type, false);
        }
        List<String> weights = new ArrayList<>();
        tensors.pairs().keySet().forEach(m -> weights.add(m.replace(".base_layer", "") + ".weight"));
        tensors.others().forEach(s -> weights.add(AdapterTensors.modelKey(s)));
        Optional<String> shown = ModelTypeGuess.fromKeys(weights);
        if (shown.isEmpty() && !AdapterPlanner.config(adapter).targetParameters().isEmpty()) {
            throw new FuseboxException(Problem.NO_RULES, adapter.location(), "is a v5 adapter whose family its keys "
                    + "do not tell (fused experts look alike across families); name its base model",
                    Remedy.BASE_MODEL);
        }
        Optional<RuleSet> rules = shown.flatMap(book::forModelType).or(() -> book.guess(weights));
        RuleSet found = rules.orElseThrow(() -> new FuseboxException(Problem.NO_RULES, adapter.location(), "is an "
                + "adapter whose module names no conversion rule knows, and it names no local base model; name its "
                + "base model", Remedy.BASE_MODEL));
        return new LoraRoles(found, shown.orElse(found.modelTypes().getFirst()), true);
    }

    /**
     * The plan of a legacy adapter with LoRA on a parameter that the family's rules rename to a stacked v5 parameter
     * (granitemoe's {@code input_linear.weight}, made by PEFT's target_parameters on a 4.x model whose experts were
     * stacked already), where a renaming carries it exactly ({@link RenamedStackedToV5}); else the refusal, which
     * says what PEFT alone would do with it. Empty for every other adapter.
     */
    private static Optional<AdapterPlan> renamedStackedParameters(Checkpoint adapter, AdapterConfig config,
                                                                  AdapterTensors tensors, LoraRoles roles,
                                                                  Optional<BaseModel> base, Optional<Layout> to,
                                                                  Optional<Dtype> dtype) throws FuseboxException {
        Path file = adapter.location();
        Map<String, String> renamed = new LinkedHashMap<>();
        Map<String, String> others = new LinkedHashMap<>();
        for (String module : tensors.pairs().keySet()) {
            String weight = module + ".weight";
            String v5 = roles.renamed(weight, true);
            if (roles.converted(file, weight)) {
                continue;
            }
            if (v5.endsWith(".weight")) {
                others.put(module, v5.substring(0, v5.length() - ".weight".length()));
            } else {
                renamed.put(module, v5);
            }
        }
        if (renamed.isEmpty()) {
            return Optional.empty();
        }
        Map.Entry<String, String> first = renamed.entrySet().iterator().next();
        List<String> parameters = new ArrayList<>(new LinkedHashSet<>(config.targetParameters()));
        List<String> routers = others.values().stream().filter(m -> base.isPresent()
                && Set.of("gate", "router").contains(LoraRoles.leaf(m))
                && base.get().v5Tensor(m.substring(0, m.lastIndexOf('.')) + ".experts.gate_up_proj").isPresent())
                .toList();
        PeftVerdict verdict = PeftCheck.renamedParameters(config, parameters.isEmpty()
                ? List.of(LoraRoles.leaf(first.getKey()) + ".weight") : parameters, others, routers);
        FuseboxException refusal = new FuseboxException(Problem.UNSUPPORTED, config.file(), "cannot convert: "
                + first.getKey()
                + ".weight has LoRA on the parameter itself (target_parameters), and the " + roles.rules().family()
                + " rules rename it to the stacked v5 parameter " + first.getValue() + " (" + renamed.size()
                + " such parameter" + (renamed.size() == 1 ? "" : "s") + "); " + (RenamedStackedToV5.converts(
                roles.modelType()) ? "Fusebox converts such LoRA by renaming it"
                + (RenamedStackedToV5.transposed(roles.modelType()) ? " and transposing its factors" : "")
                + ", which carries neither LoRA on other modules v5 renames, nor a rank or alpha pattern on it or on "
                + "the router, nor a regex target_modules beside a router LoRA" : "Fusebox does not convert "
                + "LoRA on a renamed stacked parameter of this family") + ". PEFT check (" + verdict.outcome().jsonName() + "): " + verdict.summary()
                + " " + String.join(" ", verdict.reasons()));
        // the router beside such experts is no Linear on v5 (a TopKRouter): its LoRA goes on the router's weight
        Map<String, String> routersBeside = new LinkedHashMap<>();
        others.forEach((legacy, v5) -> {
            if (Set.of("gate", "router").contains(LoraRoles.leaf(v5)) && renamed.values().stream().anyMatch(v ->
                    v.startsWith(v5.substring(0, Math.max(0, v5.lastIndexOf('.'))) + ".experts."))) {
                routersBeside.put(legacy, v5);
            }
        });
        if (!RenamedStackedToV5.converts(roles.modelType())) {
            throw refusal;
        }
        if (to.isPresent() && to.get() != Layout.V5) {
            throw new FuseboxException(Problem.ALREADY_CONVERTED, file, "is already a legacy adapter; nothing to "
                    + "convert");
        }
        return Optional.of(RenamedStackedToV5.plan(adapter, config, tensors, roles, renamed, others, routersBeside,
                verdict, dtype, refusal));
    }

    /**
     * Legacy when a module's LoRA belongs to an expert or the router of the legacy model; v5 when the config
     * targets parameters or its module names are ones only v5 has; {@link Layout#UNKNOWN} when it is neither (an
     * adapter that only touches attention, say, which means the same on both, unless PEFT rewrites a name of it on
     * v5: planned as a legacy one, which says so).
     */
    private static Layout layout(Checkpoint adapter, AdapterConfig config, AdapterTensors tensors, LoraRoles roles)
            throws FuseboxException {
        Path file = adapter.location();
        boolean v5 = !config.targetParameters().isEmpty()
                || tensors.pairs().keySet().stream().anyMatch(m -> m.contains(".base_layer"));
        String legacyModule = null;
        for (String m : tensors.pairs().keySet()) {
            if (!(roles.ofLegacy(file, m.replace(".base_layer", "")) instanceof LoraRoles.Plain)) {
                legacyModule = m;
                break;
            }
        }
        boolean legacy = legacyModule != null && !v5;
        if (legacyModule != null && v5 && roles.ofLegacy(file, legacyModule) instanceof LoraRoles.Expert) {
            throw new FuseboxException(Problem.MIXED_LAYOUT, file, AdapterTensors.key(legacyModule, 'A'), "it is a "
                    + "per-expert LoRA, but the config targets v5 parameters (" + config.targetParameters() + ")");
        }
        if (legacy || v5) {
            return legacy ? Layout.LEGACY : Layout.V5;
        }
        return namesOnlyV5Has(tensors, roles) ? Layout.V5 : Layout.UNKNOWN;
    }

    /**
     * Whether the modules carry names only the v5 model has: the family's rules would rename some of them toward
     * legacy (nemotron_h's {@code model.layers}, {@code backbone.layers} in legacy) and none toward v5. Such an
     * adapter, with no expert or router LoRA, is a v5 one whose names convert back.
     */
    private static boolean namesOnlyV5Has(AdapterTensors tensors, LoraRoles roles) {
        boolean toLegacy = false;
        for (String m : tensors.pairs().keySet()) {
            String weight = m + ".weight";
            if (!roles.renamed(weight, true).equals(weight)) {
                return false;
            }
            toLegacy |= !roles.renamed(weight, false).equals(weight);
        }
        return toLegacy;
    }
}
