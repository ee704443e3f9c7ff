package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Plans a legacy adapter in the v5 PEFT format (docs/design.md §1): per layer, the experts' LoRA of each stacked
 * parameter becomes one wrapper whose A is [E·R, in] (expert-major rows: expert e's branch b at rows
 * {@code e·R + offset_b + k}) and whose B is [branches·out, R·E] (rank-major columns {@code k·E + e}, each branch in
 * its own rows and rank window: block-diagonal, zeros elsewhere). The fused rank R is the sum of the branches'
 * ranks and the alpha is the one that keeps each branch's scale ({@code alpha·2} for a plain fused gate/up,
 * {@code alpha·sqrt(2)} with rsLoRA). Experts or branches without LoRA become zero blocks, which is exact; the
 * router's LoRA targets the {@code gate.weight} parameter; other modules keep theirs.
 */
final class LegacyToV5 {

    /** One legacy module's LoRA and what PEFT's config gives it. */
    record Part(LoraPair pair, int rank, double alpha, double scale) {
    }

    /** The experts' LoRA of one stacked v5 parameter: by expert, one part (or none) per branch. */
    static final class Group {
        final String param;
        final int converter;
        final int branches;
        final TreeMap<Integer, Part[]> experts = new TreeMap<>();

        Group(String param, int converter, int branches) {
            this.param = param;
            this.converter = converter;
            this.branches = branches;
        }

        String holder() {
            return param.substring(0, param.lastIndexOf('.'));
        }

        String leaf() {
            return param.substring(param.lastIndexOf('.') + 1);
        }

        List<Part> parts() {
            List<Part> out = new ArrayList<>();
            for (int b = 0; b < branches; b++) {
                for (Part[] p : experts.values()) {
                    if (p[b] != null) {
                        out.add(p[b]);
                    }
                }
            }
            return out;
        }
    }

    /** The legacy adapter as read, before anything is planned: what {@link PeftCheck} looks at too. */
    record Reading(Map<String, Group> groups, List<Map.Entry<LoraRoles.Router, Part>> routers,
                   List<Map.Entry<LoraRoles.Plain, Part>> plains) {
    }

    private final Path file;
    private final AdapterConfig config;
    private final AdapterTensors tensors;
    private final LoraRoles roles;
    private final Optional<BaseModel> base;
    private final Optional<Dtype> dtype;
    private final int keptModules;
    private final List<String> warnings = new ArrayList<>();
    private final Map<String, TargetLora> lora = new LinkedHashMap<>();
    private final List<PatternWriter.Need> needs = new ArrayList<>();

    /** {@code keptModules}: modules of the same adapter planned apart, whose LoRA PEFT applies as it is. */
    LegacyToV5(Path file, AdapterConfig config, AdapterTensors tensors, LoraRoles roles, Optional<BaseModel> base,
               Optional<Dtype> dtype, int keptModules) {
        this.keptModules = keptModules;
        this.file = file;
        this.config = config;
        this.tensors = tensors;
        this.roles = roles;
        this.base = base;
        this.dtype = dtype;
    }

    /** Sorts the adapter's modules by role, checking each one's rank against the config. */
    static Reading read(Path file, AdapterConfig config, AdapterTensors tensors, LoraRoles roles)
            throws FuseboxException {
        Map<String, Group> groups = new LinkedHashMap<>();
        List<Map.Entry<LoraRoles.Router, Part>> routers = new ArrayList<>();
        List<Map.Entry<LoraRoles.Plain, Part>> plains = new ArrayList<>();
        for (LoraPair pair : tensors.pairs().values()) {
            int rank = PeftPatterns.rank(config, pair.module());
            if (rank != pair.rank()) {
                throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), pair.module(), "adapter_config.json "
                        + "gives it rank " + rank + ", but its factors have rank " + pair.rank() + " ("
                        + pair.a().shape() + ")");
            }
            double alpha = PeftPatterns.alpha(config, pair.module());
            Part part = new Part(pair, rank, alpha, PeftPatterns.scale(config.useRslora(), rank, alpha));
            switch (roles.ofLegacy(file, pair.module())) {
                case LoraRoles.Expert e -> {
                    Group g = groups.computeIfAbsent(e.param(), k -> new Group(k, e.converter(), e.branches()));
                    g.experts.computeIfAbsent(e.expert(), k -> new Part[e.branches()])[e.branch()] = part;
                }
                case LoraRoles.Router r -> routers.add(Map.entry(r, part));
                case LoraRoles.Plain p -> plains.add(Map.entry(p, part));
            }
        }
        return new Reading(groups, routers, plains);
    }

    AdapterPlan plan(Checkpoint checkpoint) throws FuseboxException {
        Reading reading = read(file, config, tensors, roles);
        List<Map.Entry<LoraRoles.Plain, Part>> byName = byName(reading);
        boolean parameters = !reading.groups().isEmpty() || !reading.routers().isEmpty() || !byName.isEmpty();
        int experts = experts(reading.groups());
        PeftVerdict verdict = PeftCheck.check(config, reading, roles, experts, keptModules);
        if (parameters) {
            refuseWhatParametersCannotCarry(reading, byName, verdict);
        }
        List<PlannedTarget> targets = new ArrayList<>();
        Map<String, List<Group>> byHolder = new LinkedHashMap<>();
        for (Group g : reading.groups().values()) {
            byHolder.computeIfAbsent(g.holder(), k -> new ArrayList<>()).add(g);
        }
        for (List<Group> held : byHolder.values()) {
            held.sort((a, b) -> Integer.compare(a.converter, b.converter));
            for (int i = 0; i < held.size(); i++) {
                targets.addAll(fuse(held.get(i), experts, held.size() - 1 - i));
            }
        }
        for (Map.Entry<LoraRoles.Router, Part> r : reading.routers()) {
            targets.addAll(keep(r.getValue(), r.getKey().module(), r.getKey().param(),
                    Optional.of(".*\\." + PeftPatterns.escape(r.getKey().leaf()))));
        }
        for (Map.Entry<LoraRoles.Plain, Part> p : reading.plains()) {
            String module = p.getKey().module();
            String name = byName.contains(p) ? module + ".weight" : module;
            String keys = PeftCheck.renamesAgain(roles.modelType(), module) ? p.getValue().pair().module() : module;
            if (!keys.equals(module)) {
                warnings.add(module + " keeps its legacy name " + keys + " in the adapter: PEFT 0.21 renames its "
                        + "keys on load, and would make '" + module + "' a name no module has.");
            }
            targets.addAll(keep(p.getValue(), keys, name, Optional.empty()));
        }
        targets.addAll(others());
        targets.sort((a, b) -> a.key().compareTo(b.key()));
        ObjectNode v5Config = v5Config(reading, byName, parameters);
        boolean nothing = !parameters && dtype.isEmpty() && targets.stream().noneMatch(PlannedTarget::renamed);
        if (nothing) {
            warnings.add("Nothing to convert: the adapter has no expert or router LoRA and no module whose name PEFT "
                    + "0.21 rewrites, so it loads as it is on legacy and v5 models; the output is a copy of it.");
        }
        return AdapterPlans.assemble(checkpoint, roles.modelType(), roles, dtypeNote(), targets, v5Config,
                warnings, lora, verdict, Layout.LEGACY, Layout.V5, nothing);
    }

    /**
     * The plain modules (a dense MLP layer's, a shared expert's) whose leaf names PEFT 0.21 strips from
     * target_modules for this model type: on v5 they keep their LoRA only named by full parameter name in
     * target_parameters ({@code model.layers.0.mlp.gate_proj.weight}), which PEFT then loads exactly.
     */
    private List<Map.Entry<LoraRoles.Plain, Part>> byName(Reading reading) {
        Set<String> stripped = PeftCheck.stripped(roles.modelType());
        return reading.plains().stream().filter(p -> stripped.contains(LoraRoles.leaf(p.getKey().module()))).toList();
    }

    private String dtypeNote() {
        return dtype.map(d -> " as " + d.name()).orElse("");
    }

    /** Refuses what LoRA on parameters cannot hold; the refusal says what PEFT alone would do (the PEFT check). */
    private void refuseWhatParametersCannotCarry(Reading reading, List<Map.Entry<LoraRoles.Plain, Part>> byName,
                                                 PeftVerdict verdict) throws FuseboxException {
        ObjectNode raw = config.raw();
        String what = null;
        if (config.useDora()) {
            what = "use_dora is set; DoRA";
        } else if (raw.path("fan_in_fan_out").asBoolean(false)) {
            what = "fan_in_fan_out is set, which";
        } else if (raw.path("lora_bias").asBoolean(false)) {
            what = "lora_bias is set, which";
        }
        if (what != null) {
            String where = !reading.groups().isEmpty() ? "fused expert parameters"
                    : !reading.routers().isEmpty() ? "the router's parameter"
                    : "the parameters PEFT 0.21 needs named in target_parameters for " + roles.modelType() + " ("
                    + byName.getFirst().getKey().module() + ".weight: it strips '"
                    + LoraRoles.leaf(byName.getFirst().getKey().module()) + "' from target_modules)";
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "cannot convert: " + what + " has no form "
                    + "on " + where + " (PEFT's ParamWrapper, which holds LoRA on parameters, does not support it). "
                    + "PEFT check (" + verdict.outcome().jsonName() + "): " + verdict.summary()
                    + (verdict.reasons().isEmpty() ? "" : " " + String.join(" ", verdict.reasons())));
        }
        if (config.loraDropout() != 0) {
            warnings.add("lora_dropout " + TargetLora.number(config.loraDropout()) + " is written as 0.0: PEFT refuses "
                    + "dropout on LoRA of parameters (target_parameters), and dropout does nothing at inference, so "
                    + "the adapter computes the same (only further training would differ).");
        }
    }

    /** E: the base's config, else the base's stacked tensors, else the highest expert index in the adapter + 1. */
    private int experts(Map<String, Group> groups) throws FuseboxException {
        int seen = 0;
        String where = null;
        for (Group g : groups.values()) {
            int last = g.experts.lastKey();
            if (last + 1 > seen) {
                seen = last + 1;
                where = g.param;
            }
        }
        OptionalInt declared = base.flatMap(BaseModel::config).map(ModelConfig::numExperts).orElse(OptionalInt.empty());
        if (declared.isEmpty() && base.isPresent()) {
            for (Group g : groups.values()) {
                Optional<TensorSpec> t = base.get().v5Tensor(g.param);
                if (t.isPresent() && t.get().shape().rank() == 3) {
                    declared = OptionalInt.of(Math.toIntExact(t.get().shape().dim(0)));
                    break;
                }
            }
        }
        if (declared.isPresent()) {
            if (seen > declared.getAsInt()) {
                throw new FuseboxException(Problem.EXTRA_EXPERT, file, where, "the adapter has LoRA for expert "
                        + (seen - 1) + ", but the base model has " + declared.getAsInt() + " experts");
            }
            return declared.getAsInt();
        }
        if (!groups.isEmpty()) {
            warnings.add("No base model config: the adapter's own tensors give " + seen + " experts per layer; if "
                    + "the model has more, name its base model (experts after " + (seen - 1) + " would need zero "
                    + "blocks).");
        }
        return seen;
    }

    /** The A and B of one stacked parameter's wrapper, nested {@code depth} wrappers deep. */
    private List<PlannedTarget> fuse(Group g, int experts, int depth) throws FuseboxException {
        List<Part> parts = g.parts();
        Part first = parts.getFirst();
        long in = first.pair().in();
        long out = first.pair().out();
        for (Part p : parts) {
            if (p.pair().in() != in || p.pair().out() != out) {
                throw new FuseboxException(Problem.RAGGED_SHAPES, file, p.pair().a().key(), "its LoRA is ["
                        + p.pair().out() + " × " + p.pair().in() + "] but '" + first.pair().module() + "' is [" + out
                        + " × " + in + "]; the experts stacked into " + g.param + " must agree");
            }
        }
        Optional<TensorSpec> baseParam = base.flatMap(b -> b.v5Tensor(g.param));
        if (baseParam.isPresent()) {
            Shape want = Shape.of(experts, Math.multiplyExact(g.branches, out), in);
            if (!baseParam.get().shape().equals(want)) {
                throw new FuseboxException(Problem.RAGGED_SHAPES, file, first.pair().a().key(), "its LoRA makes "
                        + g.param + " " + want + ", but the base model's is " + baseParam.get().shape());
            }
        }
        List<String> names = roles.branchNames(g.converter);
        int[] width = new int[g.branches];
        for (Part[] ps : g.experts.values()) {
            for (int b = 0; b < g.branches; b++) {
                if (ps[b] != null) {
                    width[b] = Math.max(width[b], ps[b].rank());
                }
            }
        }
        int[] offset = new int[g.branches];
        int rank = 0;
        for (int b = 0; b < g.branches; b++) {
            offset[b] = rank;
            rank += width[b];
        }
        double scale = first.scale();
        double alpha = PeftPatterns.keepScale(config.useRslora(), first.rank(), first.alpha(), rank);
        Dtype type = widened(fusedDtype(parts, g.param), parts, scale, g.param);
        List<BlockMatrix.Block> as = new ArrayList<>();
        List<BlockMatrix.Block> bs = new ArrayList<>();
        List<String> modules = new ArrayList<>();
        Set<Integer> ranks = new LinkedHashSet<>();
        Set<Double> alphas = new LinkedHashSet<>();
        for (int b = 0; b < g.branches; b++) {
            List<Integer> missing = new ArrayList<>();
            for (int e = 0; e < experts; e++) {
                Part[] ps = g.experts.get(e);
                Part p = ps == null ? null : ps[b];
                if (p == null) {
                    missing.add(e);
                    continue;
                }
                double factor = PeftPatterns.same(p.scale(), scale) ? 1.0 : p.scale() / scale;
                if (factor != 1.0) {
                    warnings.add(p.pair().module() + " has scale " + TargetLora.number(p.scale()) + " but " + g.param
                            + " has one scale, " + TargetLora.number(scale) + ": its B is multiplied by "
                            + TargetLora.number(factor) + " (exact up to rounding in " + type.name() + ").");
                }
                as.add(new BlockMatrix.Block(MatrixView.whole(p.pair().a()),
                        Math.addExact(Math.multiplyExact((long) e, rank), offset[b]), 0, 1, 1.0));
                bs.add(new BlockMatrix.Block(MatrixView.whole(p.pair().b()), Math.multiplyExact(b, out),
                        Math.addExact(Math.multiplyExact((long) offset[b], experts), e),
                        experts, factor));
                modules.add(p.pair().module());
                ranks.add(p.rank());
                alphas.add(p.alpha());
            }
            if (width[b] > 0 && !missing.isEmpty()) {
                warnings.add(g.param + ": no " + names.get(b) + " LoRA for expert" + (missing.size() == 1 ? " " : "s ")
                        + missing + "; written as zero blocks (exact: those experts' " + names.get(b)
                        + " are unchanged).");
            } else if (width[b] == 0) {
                warnings.add(g.param + ": no expert has a " + names.get(b) + " LoRA; its rows of B stay zero "
                        + "(exact: " + names.get(b) + " is unchanged).");
            }
        }
        String wrapper = g.holder() + ".base_layer".repeat(depth);
        String aKey = AdapterTensors.key(wrapper, 'A');
        String bKey = AdapterTensors.key(wrapper, 'B');
        List<String> ranksOf = new ArrayList<>();
        List<String> blocksOf = new ArrayList<>();
        for (int b = 0; b < g.branches; b++) {
            if (width[b] > 0) {
                String k = names.get(b) + " k " + offset[b] + ":" + (offset[b] + width[b]);
                ranksOf.add(k);
                blocksOf.add(k + ", rows " + b * out + ":" + (b + 1) * out);
            }
        }
        List<String> opsA = g.branches > 1 ? List.of("stack(dim=0)", "concat(dim=1)", "flatten(0, 1)")
                : List.of("stack(dim=0)", "flatten(0, 1)");
        List<String> opsB = g.branches > 1
                ? List.of("stack(dim=0)", "block_diag", "permute(2, 0, 1)", "flatten(0, 1)", "transpose(0, 1)")
                : List.of("stack(dim=0)", "permute(2, 0, 1)", "flatten(0, 1)", "transpose(0, 1)");
        List<PlannedTarget> made = new ArrayList<>();
        made.add(Targets.blocks(aKey, type, Math.multiplyExact((long) experts, rank), in, as, opsA, "LoRA A of " + g.param
                + ": expert e's rows at e·" + rank + " + k (" + String.join("; ", ranksOf) + ")"));
        made.add(Targets.blocks(bKey, type, Math.multiplyExact(g.branches, out),
                Math.multiplyExact((long) rank, experts), bs, opsB, "LoRA B of " + g.param
                + ": rank-major columns k·" + experts + " + e" + (g.branches > 1 ? ", block-diagonal ("
                + String.join("; ", blocksOf) + "), zeros elsewhere" : "")));
        TargetLora t = new TargetLora(modules, List.copyOf(ranks), List.copyOf(alphas), rank, alpha, scale);
        lora.put(aKey, t);
        lora.put(bKey, t);
        needs.add(new PatternWriter.Need(g.param, Optional.of(".*\\." + PeftPatterns.escape(g.leaf())), rank, alpha));
        return made;
    }

    /**
     * A 16-bit dtype cannot hold a B multiplied by a factor that is not a power of two without rounding (bfloat16:
     * 2^-9 relative, which moves logits by more than 1e-4): such a wrapper is written in float32, unless --dtype
     * asked for the dtype, and the plan says so.
     */
    private Dtype widened(Dtype type, List<Part> parts, double scale, String param) {
        if (dtype.isPresent() || type.byteSize() > 2) {
            return type;
        }
        for (Part p : parts) {
            double factor = p.scale() / scale;
            boolean powerOfTwo = PeftPatterns.same(factor, Math.scalb(1.0, Math.getExponent(factor)));
            if (!PeftPatterns.same(p.scale(), scale) && !powerOfTwo) {
                warnings.add(param + ": its experts' LoRA have different scales, so one B is multiplied by "
                        + TargetLora.number(factor) + ", which " + type.torchName() + " cannot hold exactly; its "
                        + "fused factors are written as float32 (choose " + type.torchName() + " as the factor "
                        + "dtype to keep it and round).");
                return Dtype.F32;
            }
        }
        return type;
    }

    private Dtype fusedDtype(List<Part> parts, String param) throws FuseboxException {
        Dtype first = parts.getFirst().pair().a().dtype();
        if (dtype.isPresent()) {
            return dtype.get();
        }
        for (Part p : parts) {
            for (TensorSpec s : List.of(p.pair().a(), p.pair().b())) {
                if (s.dtype() != first) {
                    throw new FuseboxException(Problem.MIXED_DTYPES, file, s.key(), "it is " + s.dtype().name()
                            + " but '" + parts.getFirst().pair().a().key() + "' is " + first.name() + "; the factors "
                            + "fused into " + param + " need one dtype; choose it", Remedy.FACTOR_DTYPE);
                }
            }
        }
        return first;
    }

    /** A module's A and B under its v5 name, unchanged (rank and alpha too), looked up as {@code name}. */
    private List<PlannedTarget> keep(Part p, String module, String name, Optional<String> group) {
        String aKey = AdapterTensors.key(module, 'A');
        String bKey = AdapterTensors.key(module, 'B');
        TargetLora t = new TargetLora(List.of(p.pair().module()), List.of(p.rank()), List.of(p.alpha()), p.rank(),
                p.alpha(), p.scale());
        lora.put(aKey, t);
        lora.put(bKey, t);
        needs.add(new PatternWriter.Need(name, group, p.rank(), p.alpha()));
        return List.of(Targets.copy(aKey, p.pair().a(), dtype), Targets.copy(bKey, p.pair().b(), dtype));
    }

    /** Full weights ({@code modules_to_save}) and other LoRA tensors (DoRA magnitudes) of plain modules. */
    private List<PlannedTarget> others() throws FuseboxException {
        List<PlannedTarget> out = new ArrayList<>();
        for (TensorSpec s : tensors.others()) {
            String key = AdapterTensors.modelKey(s);
            int lora = key.indexOf(".lora_");
            if (lora >= 0) {
                String module = key.substring(0, lora);
                if (!(roles.ofLegacy(file, module) instanceof LoraRoles.Plain p)) {
                    throw new FuseboxException(Problem.UNSUPPORTED, file, s.key(), "an expert's or the router's "
                            + key.substring(lora + 1) + " has no form on fused v5 parameters");
                }
                String named = PeftCheck.renamesAgain(roles.modelType(), p.module()) ? module : p.module();
                out.add(Targets.copy(AdapterTensors.PREFIX + named + key.substring(lora), s, dtype));
                continue;
            }
            if (roles.converted(file, key)) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, s.key(), "it is a full expert weight (from "
                        + "modules_to_save); converting saved expert modules is not supported, only their LoRA");
            }
            out.add(Targets.copy(AdapterTensors.PREFIX + roles.renamed(key, true), s, dtype));
        }
        return out;
    }

    private ObjectNode v5Config(Reading reading, List<Map.Entry<LoraRoles.Plain, Part>> byName, boolean parameters)
            throws FuseboxException {
        ObjectNode c = config.raw();
        List<String> plainModules = reading.plains().stream().filter(p -> !byName.contains(p))
                .map(e -> e.getKey().module()).toList();
        Set<String> stripped = PeftCheck.stripped(roles.modelType());
        Set<String> moved = new LinkedHashSet<>();
        for (Group g : reading.groups().values()) {
            moved.addAll(roles.branchNames(g.converter));
        }
        if (!reading.routers().isEmpty()) {
            moved.add(LoraRoles.ROUTER);
        }
        JsonNode tm = c.get("target_modules");
        if (tm != null && tm.isTextual()) {
            if (plainModules.isEmpty()) {
                c.putArray("target_modules");
            } else {
                c.put("target_modules", String.join("|", plainModules.stream().map(PeftPatterns::escape).toList()));
            }
        } else if (tm != null && tm.isArray()) {
            Set<String> kept = new LinkedHashSet<>();
            for (JsonNode entry : tm) {
                String t = entry.asText();
                boolean plain = plainModules.stream().anyMatch(m -> m.equals(t) || m.endsWith("." + t));
                boolean expertName = moved.contains(t) || reading.groups().values().stream()
                        .flatMap(g -> g.parts().stream()).anyMatch(p -> p.pair().module().equals(t))
                        || reading.routers().stream().anyMatch(r -> r.getValue().pair().module().equals(t));
                boolean strippedByPeft = stripped.stream().anyMatch(n -> t.equals(n) || t.endsWith("." + n));
                if ((plain || !expertName) && !strippedByPeft) {
                    kept.add(t);
                    kept.addAll(renamedTargets(reading, byName, t));
                }
            }
            ArrayNode written = c.putArray("target_modules");
            kept.forEach(written::add);
        }
        if (parameters) {
            Set<String> parametersOut = new LinkedHashSet<>(config.targetParameters());
            parametersOut.addAll(targetParameters(reading));
            byName.forEach(p -> parametersOut.add(p.getKey().module() + ".weight"));
            ArrayNode tp = c.putArray("target_parameters");
            parametersOut.forEach(tp::add);
            if (config.loraDropout() != 0) {
                c.put("lora_dropout", 0.0);
            }
        }
        PatternWriter.Patterns patterns = PatternWriter.write(config.file(), config.r(), config.loraAlpha(),
                carried(config.rankPattern(), reading, byName), carried(config.alphaPattern(), reading, byName), needs);
        ObjectNode rp = c.putObject("rank_pattern");
        patterns.rank().forEach(rp::put);
        ObjectNode ap = c.putObject("alpha_pattern");
        patterns.alpha().forEach((k, v) -> AdapterPlans.putNumber(ap, k, v));
        JsonNode mts = c.get("modules_to_save");
        if (mts != null && mts.isArray()) {
            ArrayNode renamed = c.putArray("modules_to_save");
            for (JsonNode m : mts) {
                renamed.add(roles.renamedToV5(m.asText()));
            }
        }
        return c;
    }

    /**
     * The v5 names of target_modules entry {@code entry} for the plain modules it matched that the family renames
     * (axk2's {@code self_attn.q_b_proj} is {@code self_attn.q_gate_proj} on v5): the same number of trailing name
     * parts, taken from the v5 name. Without them the renamed modules' LoRA would match no target on v5 and PEFT
     * would drop it.
     */
    private static Set<String> renamedTargets(Reading reading, List<Map.Entry<LoraRoles.Plain, Part>> byName,
                                              String entry) {
        int parts = entry.split("\\.", -1).length;
        Set<String> out = new LinkedHashSet<>();
        for (Map.Entry<LoraRoles.Plain, Part> p : reading.plains()) {
            String legacy = p.getValue().pair().module();
            String v5 = p.getKey().module();
            if (byName.contains(p) || legacy.equals(v5) || !(legacy.equals(entry) || legacy.endsWith("." + entry))) {
                continue;
            }
            String[] names = v5.split("\\.", -1);
            String tail = String.join(".", Arrays.copyOfRange(names, Math.max(0, names.length - parts),
                    names.length));
            if (!tail.equals(entry)) {
                out.add(tail);
            }
        }
        return out;
    }

    /**
     * The source config's pattern entries that still mean something on v5: those that match a v5 target or that
     * matched no expert or router module before (left as the user wrote them).
     */
    private <V> Map<String, V> carried(Map<String, V> patterns, Reading reading,
                                       List<Map.Entry<LoraRoles.Plain, Part>> byName) throws FuseboxException {
        List<String> moved = new ArrayList<>();
        byName.forEach(p -> moved.add(p.getValue().pair().module()));
        reading.groups().values().forEach(g -> g.parts().forEach(p -> moved.add(p.pair().module())));
        reading.routers().forEach(r -> moved.add(r.getValue().pair().module()));
        Map<String, V> out = new LinkedHashMap<>();
        for (Map.Entry<String, V> e : patterns.entrySet()) {
            boolean matchesV5 = false;
            for (PatternWriter.Need n : needs) {
                matchesV5 |= PeftPatterns.matches(config.file(), e.getKey(), n.name());
            }
            boolean matchedMoved = false;
            for (String m : moved) {
                matchedMoved |= PeftPatterns.matches(config.file(), e.getKey(), m);
            }
            if (matchesV5 || !matchedMoved) {
                out.put(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    /**
     * What {@code target_parameters} lists: each stacked parameter's and the router's own name when every layer of
     * the model that has it carries LoRA (PEFT matches names by suffix), else the full name of each one that does.
     */
    private List<String> targetParameters(Reading reading) throws FuseboxException {
        Map<String, Set<String>> byLeaf = new LinkedHashMap<>();
        List<Group> groups = new ArrayList<>(reading.groups().values());
        groups.sort((a, b) -> Integer.compare(a.converter, b.converter));
        for (Group g : groups) {
            byLeaf.computeIfAbsent(g.leaf(), k -> new TreeSet<>()).add(g.param);
        }
        for (Map.Entry<LoraRoles.Router, Part> r : reading.routers()) {
            byLeaf.computeIfAbsent(r.getKey().leaf(), k -> new TreeSet<>()).add(r.getKey().param());
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Set<String>> e : byLeaf.entrySet()) {
            Set<String> everywhere = everyParam(e.getKey(), e.getValue());
            if (everywhere.equals(e.getValue())) {
                out.add(e.getKey());
            } else {
                out.addAll(e.getValue());
            }
        }
        return out;
    }

    /**
     * Every parameter of the model named {@code leaf}: from the base model's tensors when there is one; without
     * one, the adapter's own when they cover layers 0, 1, … with no gap and {@code layers_to_transform} is not set.
     */
    private Set<String> everyParam(String leaf, Set<String> withLora) {
        if (base.isPresent()) {
            Set<String> all = new TreeSet<>();
            for (String k : base.get().v5Tensors().keySet()) {
                if (k.endsWith("." + leaf)) {
                    all.add(k);
                }
            }
            return all;
        }
        if (config.layersToTransform().isPresent()) {
            return Set.of();
        }
        Set<String> templates = new TreeSet<>();
        Set<Integer> layers = new TreeSet<>();
        for (String p : withLora) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\.(\\d+)\\.").matcher(p);
            if (!m.find()) {
                return withLora;
            }
            layers.add(Integer.parseInt(m.group(1)));
            templates.add(p.substring(0, m.start()) + ".#." + p.substring(m.end()));
        }
        boolean gapless = templates.size() == 1 && layers.size() == ((TreeSet<Integer>) layers).last() + 1;
        return gapless ? withLora : Set.of();
    }
}
