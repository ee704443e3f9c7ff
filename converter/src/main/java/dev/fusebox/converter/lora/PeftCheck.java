package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.AdapterConfig;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Predicts what PEFT 0.21 on transformers 5 does with a legacy adapter on the v5 model, by running the decisions of
 * its conversion code (peft/utils/transformers_weight_conversion.py, tuners/lora/layer.py ParamWrapper) on the
 * adapter, family by family ({@code peft-0.21.json} holds its table). For the types in the table PEFT rewrites the
 * config: it strips the expert and router names from target_modules (dropping any dense or shared-expert module of
 * those names), refuses what ParamWrapper cannot hold (dropout, DoRA, lora_bias, fan_in_fan_out), a fused pair
 * targeted by halves and experts it cannot stack, and gives each v5 target the rank and alpha of its rewritten
 * config ({@code rank_pattern[".*\.gate_up_proj"] = 2r}, {@code alpha_pattern[...] = 2·alpha}), whose scales it
 * compares with the adapter's. For other types it converts the keys but not the config, so the experts' LoRA is
 * dropped, a router LoRA on a TopKRouter refused. Every verdict was checked against the real PEFT by
 * tools/oracle-lora.py (docs/lora.md).
 */
final class PeftCheck {

    private static final String TABLE = "peft-0.21.json";
    static final String PEFT = "PEFT 0.21";

    /**
     * One of PEFT's patterns: the model types it converts so, the target_modules names it strips (and the
     * target_parameters it writes for them), and the legacy targets it fuses.
     */
    private record Pattern(String name, Set<String> modelTypes, Map<String, String> mapping,
                           Map<String, List<String>> fused) {
    }

    private static final List<Pattern> PATTERNS = load();

    /** Per model type, the renamings PEFT 0.21 applies again to a v5 adapter's keys that match their own output. */
    private static final Map<String, List<Map.Entry<java.util.regex.Pattern, String>>> REAPPLIED = loadRenamings();

    /**
     * Model types outside PEFT's table whose v5 router is an {@code nn.Linear}: phimoe's {@code router}, renamed from
     * {@code gate}. Every other bundled type's v5 router named {@code gate} is a TopKRouter module, which PEFT 0.21
     * refuses as a target module (measured with transformers 5.18); Jamba's router is named {@code router} in both
     * layouts, an {@code nn.Linear}, so its LoRA is a plain module's.
     */
    private static final Set<String> LINEAR_ROUTERS = Set.of("phimoe");

    private PeftCheck() {
    }

    /**
     * The leaf names PEFT 0.21 strips from {@code target_modules} when it loads an adapter on a v5 model of
     * {@code modelType} ({@code gate_proj}, {@code up_proj}, {@code down_proj}, {@code gate} for qwen2_moe-style
     * types): a module of such a name that is no expert (a dense MLP layer, a shared expert) keeps its LoRA on v5
     * only when it is named by its full parameter name in {@code target_parameters}. Empty for types whose configs
     * PEFT does not rewrite.
     */
    static Set<String> stripped(String modelType) {
        return PATTERNS.stream().filter(p -> p.modelTypes.contains(modelType)).findFirst()
                .map(p -> p.mapping.keySet()).orElse(Set.of());
    }

    /**
     * Whether PEFT 0.21, loading a v5 adapter on a {@code modelType} model, renames the LoRA keys of v5 module
     * {@code module} again, to a name no module has (laguna's {@code mlp.shared_expert.} pattern, its dots
     * unescaped, turns {@code mlp.shared_experts.gate_proj} into {@code mlp.shared_experts..gate_proj}): such a
     * module's keys must keep the legacy name, which that renaming turns into the v5 one.
     */
    static boolean renamesAgain(String modelType, String module) {
        String key = module + ".lora_A.weight";
        for (Map.Entry<java.util.regex.Pattern, String> r : REAPPLIED.getOrDefault(modelType, List.of())) {
            if (r.getKey().matcher(key).find()) {
                return true;
            }
        }
        return false;
    }

    /**
     * What PEFT 0.21 does with the legacy adapter read as {@code reading}, of which {@code keptModules} more modules
     * (LoRA on stacked parameters both layouts name alike, read apart) are ones PEFT finds and applies as they are.
     */
    static PeftVerdict check(AdapterConfig config, LegacyToV5.Reading reading, LoraRoles roles, int experts,
                             int keptModules) throws FuseboxException {
        String modelType = roles.modelType();
        Set<String> stripped = stripped(modelType);
        List<String> dropped = reading.plains().stream().map(p -> p.getKey().module())
                .filter(m -> stripped.contains(LoraRoles.leaf(m))).toList();
        List<String> renamedAway = renamedAway(config, reading, dropped);
        if (reading.groups().isEmpty() && reading.routers().isEmpty() && dropped.isEmpty() && renamedAway.isEmpty()) {
            return new PeftVerdict(PeftVerdict.Outcome.LOADS_EXACTLY, PEFT + " would load it exactly: it has no "
                    + "expert or router LoRA and no module whose name PEFT rewrites; nothing to convert.", List.of());
        }
        List<String> refusals = new ArrayList<>();
        List<String> wrongs = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        if (roles.modelTypeGuessed()) {
            notes.add("Without the base model's config the model type is a guess from the keys ('" + modelType
                    + "'); name the base model for a firm answer, since PEFT 0.21 converts some types of a family and "
                    + "not others.");
        }
        Optional<Pattern> pattern = PATTERNS.stream().filter(p -> p.modelTypes.contains(modelType)).findFirst();
        // without a pattern for the type PEFT keeps targeting per-expert modules, which v5 has not: no router or
        // expert LoRA of it is found, but a Linear router v5 keeps the name of
        boolean routerFound = !reading.routers().isEmpty() && (pattern.isPresent()
                || (LINEAR_ROUTERS.contains(modelType) && reading.routers().getFirst().getKey().module()
                .equals(reading.routers().getFirst().getValue().pair().module())));
        boolean plainsFound = reading.plains().size() > renamedAway.size() + dropped.size();
        if (!renamedAway.isEmpty()) {
            String lost = "v5 renames " + renamedAway.size() + " module" + (renamedAway.size() == 1 ? "" : "s")
                    + " the adapter targets (" + String.join(", ", renamedAway.subList(0, Math.min(3,
                    renamedAway.size()))) + (renamedAway.size() > 3 ? ", …" : "") + "): " + PEFT + " keeps "
                    + "target_modules as they are, and they match no such module";
            boolean othersMatch = (pattern.isPresent() && !reading.groups().isEmpty()) || routerFound
                    || keptModules > 0 || plainsFound;
            if (othersMatch) {
                wrongs.add(lost + ", so their LoRA would not be applied.");
            } else {
                refusals.add(lost + ", and finds no target module at all.");
            }
        }
        if (pattern.isEmpty()) {
            String why = PEFT + " does not rewrite the config for '" + modelType + "' (its table names "
                    + PATTERNS.stream().mapToInt(p -> p.modelTypes.size()).sum() + " other model types): it keeps "
                    + "targeting the per-expert modules, which v5 no longer has";
            if (!reading.groups().isEmpty() && config.raw().path("lora_bias").asBoolean(false)) {
                refusals.add("lora_bias is set: PEFT's key conversion stacks each expert's lora_B.bias with the "
                        + "lora_B weights and fails (\"stack expects each tensor to be equal size\").");
            }
            if (!reading.routers().isEmpty()) {
                String router = reading.routers().getFirst().getValue().pair().module();
                if (!LINEAR_ROUTERS.contains(modelType)) {
                    refusals.add("Its router LoRA targets the module '" + LoraRoles.leaf(router) + "', which is a "
                            + "TopKRouter on the v5 model, and PEFT raises \"Target module …TopKRouter() is not "
                            + "supported\".");
                } else if (!reading.routers().getFirst().getKey().module().equals(router)) {
                    wrongs.add("Its router LoRA targets '" + router + "', which v5 renames to '"
                            + reading.routers().getFirst().getKey().module() + "': PEFT finds no such module, so the "
                            + "router's LoRA would not be applied.");
                }
            }
            if (reading.groups().isEmpty()) {
                return verdict(refusals, wrongs, notes);
            }
            if (!plainsFound && !routerFound && keptModules == 0) {
                refusals.add(why + ", and finds no target module at all.");
            } else {
                wrongs.add(why + ", so the experts' LoRA would not be applied.");
            }
            return verdict(refusals, wrongs, notes);
        }
        Pattern p = pattern.get();
        if (!dropped.isEmpty()) {
            Set<String> leaves = new LinkedHashSet<>();
            dropped.forEach(m -> leaves.add("'" + LoraRoles.leaf(m) + "'"));
            wrongs.add(PEFT + " strips " + String.join(", ", leaves) + " from target_modules for " + modelType
                    + " (it maps those names to the experts' fused parameters), so the LoRA of " + dropped.size()
                    + " module" + (dropped.size() == 1 ? "" : "s") + " that are no experts (a dense MLP layer, a "
                    + "shared expert: " + String.join(", ", dropped.subList(0, Math.min(3, dropped.size())))
                    + (dropped.size() > 3 ? ", …" : "") + ") would not be applied.");
        }
        configRefusals(config, refusals);
        halves(config, reading, p, refusals);
        stacking(reading, roles, experts, refusals);
        Map<String, Integer> rankPattern = new LinkedHashMap<>(config.rankPattern());
        Map<String, Double> alphaPattern = new LinkedHashMap<>(config.alphaPattern());
        for (Map.Entry<String, List<String>> f : p.fused.entrySet()) {
            if (targeted(config, reading, f.getValue()).size() == f.getValue().size()) {
                String key = ".*\\." + PeftPatterns.escape(f.getKey());
                rankPattern.put(key, config.r() * f.getValue().size());
                alphaPattern.put(key, config.loraAlpha() * f.getValue().size());
            }
        }
        scales(config, reading, rankPattern, alphaPattern, refusals, wrongs);
        if (config.layersToTransform().isPresent()) {
            String effect = config.raw().path("init_lora_weights").asBoolean(true)
                    ? "; their B starts at zero, so they have no effect" : "";
            notes.add(PEFT + " ignores layers_to_transform for target_parameters: it wraps the experts of every "
                    + "layer and warns about the missing keys of the others" + effect + ".");
            if (effect.isEmpty()) {
                wrongs.add("With init_lora_weights false, the experts of layers outside layers_to_transform would "
                        + "get random LoRA factors from " + PEFT + ".");
            }
        }
        return verdict(refusals, wrongs, notes);
    }

    /**
     * The plain modules (v5 names) that the family renames so that no target_modules entry matching the legacy
     * module matches the v5 one (axk2's {@code self_attn.q_b_proj}, {@code q_gate_proj} on v5; hy_v4's
     * {@code linear_gate}): PEFT 0.21 does not rewrite target_modules for them, so it wraps no module for their
     * LoRA. Modules it strips ({@code dropped}) are counted there.
     */
    private static List<String> renamedAway(AdapterConfig config, LegacyToV5.Reading reading, List<String> dropped) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<LoraRoles.Plain, LegacyToV5.Part> p : reading.plains()) {
            String v5 = p.getKey().module();
            if (!dropped.contains(v5) && lostByRenaming(config, p.getValue().pair().module(), v5)) {
                out.add(v5);
            }
        }
        return out;
    }

    /** Whether no target_modules entry that matches legacy module {@code legacy} matches its v5 name {@code v5}. */
    static boolean lostByRenaming(AdapterConfig config, String legacy, String v5) {
        if (legacy.equals(v5)) {
            return false;
        }
        if (config.targetModulesRegex().isPresent()) {
            return !java.util.regex.Pattern.compile(config.targetModulesRegex().get()).matcher(v5).matches();
        }
        return config.targetModules().stream().filter(t -> legacy.equals(t) || legacy.endsWith("." + t))
                .noneMatch(t -> v5.equals(t) || v5.endsWith("." + t));
    }

    /**
     * What PEFT 0.21 does with a legacy adapter whose LoRA on stacked parameters ({@code target_parameters} of a
     * 4.x model whose experts were stacked already: granitemoe's {@code input_linear.weight}) names parameters the
     * v5 model has under other names: it keeps target_parameters as they are, finds none of them and so drops that
     * LoRA; it refuses when nothing else matches ("No `target_modules` passed but also no `target_parameters`
     * found", or "Target modules … not found"), or when one of them is a v5 TopKRouter module ({@code routers}, v5
     * names: aria_text's {@code mlp.router}, an {@code nn.Linear} in 4.x). {@code others} maps the adapter's other
     * modules to their v5 names.
     */
    static PeftVerdict renamedParameters(AdapterConfig config, List<String> parameters, Map<String, String> others,
                                         List<String> routers) {
        List<String> lost = new ArrayList<>();
        others.forEach((legacy, v5) -> {
            if (lostByRenaming(config, legacy, v5)) {
                lost.add(legacy);
            }
        });
        String why = "its target_parameters name " + String.join(", ", parameters) + ", which v5 renames, and "
                + PEFT + " keeps target_parameters as they are, so it wraps none of them"
                + (lost.isEmpty() ? "" : " (nor " + String.join(", ", lost) + ", which v5 renames too)");
        List<String> found = routers.stream().filter(r -> others.entrySet().stream()
                .anyMatch(e -> e.getValue().equals(r) && !lost.contains(e.getKey()))).toList();
        if (!found.isEmpty()) {
            return verdict(List.of("Its LoRA on " + found.getFirst() + " targets a TopKRouter module on the v5 model, "
                    + "and PEFT raises \"Target module …TopKRouter() is not supported\"."), List.of("The experts' LoRA "
                    + "would not be applied: " + why + "."), List.of());
        }
        return others.size() > lost.size()
                ? verdict(List.of(), List.of("The experts' LoRA would not be applied: " + why + "."), List.of())
                : verdict(List.of("It finds no target at all: " + why + "."), List.of(), List.of());
    }

    /** A 4.x LoRA pair on a born-fused family's stacked experts; {@code fits} whether v5's factors have its shapes. */
    record Transposed(LoraPair pair, boolean fits) {
    }

    /**
     * What PEFT 0.21 does with a 4.x adapter of a born-fused family (gpt_oss) with LoRA on its stacked experts: the
     * names are v5's too, but v5's experts say is_transposed, so its ParamWrapper expects each factor of the other
     * shape. Where the shapes differ, loading the state dict raises a size mismatch (measured: "copying a param with
     * shape [16, 192] …, the shape in current model is [16, 64]"); where a parameter is square per expert, they
     * fit, and each expert's update is read transposed.
     */
    static PeftVerdict bornFused(String modelType, List<Transposed> pairs) {
        String why = "transformers 5 marks " + modelType + "'s experts is_transposed and 4.x does not, so " + PEFT
                + "'s ParamWrapper makes their A [E·r, in] and B [out, r·E] where the 4.x one made A [E·r, out] and "
                + "B [in, r·E]";
        Optional<Transposed> misfit = pairs.stream().filter(t -> !t.fits()).findFirst();
        if (misfit.isPresent()) {
            LoraPair p = misfit.get().pair();
            return verdict(List.of("Loading its state dict raises a size mismatch (" + p.a().key() + " is "
                    + p.a().shape() + "): " + why + "."), List.of(), List.of());
        }
        return verdict(List.of(), List.of("Each expert's LoRA update would be read transposed: " + why + ", and "
                + "its experts' parameters are square per expert, so the shapes fit."), List.of());
    }

    private static PeftVerdict verdict(List<String> refusals, List<String> wrongs, List<String> notes) {
        if (!refusals.isEmpty()) {
            List<String> all = new ArrayList<>(refusals);
            all.addAll(wrongs);
            all.addAll(notes);
            return new PeftVerdict(PeftVerdict.Outcome.REFUSES, PEFT + " would refuse to load it on the v5 model.",
                    all);
        }
        if (!wrongs.isEmpty()) {
            List<String> all = new ArrayList<>(wrongs);
            all.addAll(notes);
            return new PeftVerdict(PeftVerdict.Outcome.LOADS_WRONG, PEFT + " would load it without an error, but "
                    + "it would not compute what the adapter computes.", all);
        }
        return new PeftVerdict(PeftVerdict.Outcome.LOADS_EXACTLY, PEFT + " would convert and load it exactly on "
                + "the v5 model; Fusebox gives the same adapter, written once.", notes);
    }

    private static void configRefusals(AdapterConfig config, List<String> refusals) {
        if (config.loraDropout() != 0) {
            refusals.add("lora_dropout is " + TargetLora.number(config.loraDropout()) + ", and PEFT's ParamWrapper "
                    + "(which holds LoRA on fused expert parameters) raises \"lora.ParamWrapper does not work with "
                    + "lora_dropout != 0.\"");
        }
        if (config.useDora()) {
            refusals.add("use_dora is set, and PEFT's ParamWrapper raises \"lora.ParamWrapper does not work with "
                    + "use_dora=True.\"");
        }
        if (config.raw().path("fan_in_fan_out").asBoolean(false)) {
            refusals.add("fan_in_fan_out is set, and PEFT's ParamWrapper raises \"lora.ParamWrapper does not work "
                    + "with fan_in_fan_out.\"");
        }
        if (config.raw().path("lora_bias").asBoolean(false)) {
            refusals.add("lora_bias is set, and PEFT's ParamWrapper raises \"lora.ParamWrapper does not work with "
                    + "lora_bias=True.\"");
        }
    }

    /** PEFT's own test: a fused pair must be targeted whole ("Cannot convert PEFT target(s) w1 without … w3"). */
    private static void halves(AdapterConfig config, LegacyToV5.Reading reading, Pattern p, List<String> refusals) {
        for (Map.Entry<String, List<String>> f : p.fused.entrySet()) {
            Set<String> present = targeted(config, reading, f.getValue());
            if (!present.isEmpty() && present.size() < f.getValue().size()) {
                List<String> missing = new ArrayList<>(f.getValue());
                missing.removeAll(present);
                refusals.add("It targets " + String.join(", ", present) + " without " + String.join(", ", missing)
                        + ", and PEFT raises \"Cannot convert PEFT target(s) " + String.join(", ", present)
                        + " without also targeting " + String.join(", ", missing) + " because they are fused into "
                        + f.getKey() + "\".");
            }
        }
    }

    /** Which of {@code names} the config targets: its list, or (for a regex) the adapter's modules. */
    private static Set<String> targeted(AdapterConfig config, LegacyToV5.Reading reading, List<String> names) {
        Set<String> out = new LinkedHashSet<>();
        for (String n : names) {
            boolean listed = config.targetModules().stream().anyMatch(t -> t.equals(n) || t.endsWith("." + n));
            boolean held = config.targetModulesRegex().isPresent() && reading.groups().values().stream()
                    .flatMap(g -> g.parts().stream()).anyMatch(part -> LoraRoles.leaf(part.pair().module()).equals(n));
            if (listed || held) {
                out.add(n);
            }
        }
        return out;
    }

    /** PEFT stacks the experts' factors as it finds them: every expert, every branch, one rank, or a size error. */
    private static void stacking(LegacyToV5.Reading reading, LoraRoles roles, int experts, List<String> refusals) {
        for (LegacyToV5.Group g : reading.groups().values()) {
            List<String> names = roles.branchNames(g.converter);
            for (int b = 0; b < g.branches; b++) {
                List<Integer> missing = new ArrayList<>();
                Set<Integer> ranks = new LinkedHashSet<>();
                boolean any = false;
                for (int e = 0; e < experts; e++) {
                    LegacyToV5.Part[] ps = g.experts.get(e);
                    if (ps == null || ps[b] == null) {
                        missing.add(e);
                    } else {
                        any = true;
                        ranks.add(ps[b].rank());
                    }
                }
                if (any && !missing.isEmpty()) {
                    refusals.add(g.param + ": the adapter has no " + names.get(b) + " LoRA for expert"
                            + (missing.size() == 1 ? " " : "s ") + missing + "; PEFT stacks the " + (experts
                            - missing.size()) + " it finds and the shapes do not match the model's " + experts
                            + " experts (size mismatch).");
                } else if (ranks.size() > 1) {
                    refusals.add(g.param + ": the experts' " + names.get(b) + " LoRA have different ranks " + ranks
                            + ", which PEFT cannot stack into one tensor.");
                }
            }
        }
    }

    /** The rank and alpha PEFT's rewritten config gives each v5 target, against what the adapter needs. */
    private static void scales(AdapterConfig config, LegacyToV5.Reading reading, Map<String, Integer> rankPattern,
                               Map<String, Double> alphaPattern, List<String> refusals, List<String> wrongs)
            throws FuseboxException {
        boolean rslora = config.useRslora();
        for (LegacyToV5.Group g : reading.groups().values()) {
            List<LegacyToV5.Part> parts = g.parts();
            int needed = 0;
            for (int b = 0; b < g.branches; b++) {
                int branch = b;
                needed += parts.stream().filter(p -> inBranch(g, p, branch)).mapToInt(LegacyToV5.Part::rank)
                        .max().orElse(0);
            }
            int rank = lookup(config, rankPattern, g.param, config.r());
            double alpha = lookup(config, alphaPattern, g.param, config.loraAlpha());
            if (rank != needed) {
                refusals.add(g.param + ": PEFT's config gives it rank " + rank + ", but the experts' LoRA make rank "
                        + needed + " (size mismatch).");
                continue;
            }
            double peftScale = PeftPatterns.scale(rslora, rank, alpha);
            Set<Double> off = new LinkedHashSet<>();
            for (LegacyToV5.Part p : parts) {
                if (!PeftPatterns.same(peftScale, p.scale())) {
                    off.add(peftScale / p.scale());
                }
            }
            if (!off.isEmpty()) {
                List<String> factors = off.stream().map(PeftCheck::factor).distinct().toList();
                String why = rslora && g.branches > 1 && PeftPatterns.same(alpha, config.loraAlpha() * g.branches)
                        ? " (rsLoRA: PEFT sets alpha to " + g.branches + "·alpha, but alpha/sqrt(" + rank + ") needs "
                        + "alpha·sqrt(" + g.branches + "))" : "";
                wrongs.add(g.param + ": its LoRA would be " + String.join(", or for other modules ", factors) + why
                        + ".");
            }
        }
        for (Map.Entry<LoraRoles.Router, LegacyToV5.Part> r : reading.routers()) {
            String name = r.getKey().param();
            LegacyToV5.Part p = r.getValue();
            int rank = lookup(config, rankPattern, name, config.r());
            double alpha = lookup(config, alphaPattern, name, config.loraAlpha());
            if (rank != p.rank()) {
                refusals.add(name + ": PEFT's config gives it rank " + rank + ", but its LoRA has rank " + p.rank()
                        + " (size mismatch).");
            } else if (!PeftPatterns.same(PeftPatterns.scale(rslora, rank, alpha), p.scale())) {
                wrongs.add(name + ": its LoRA would be " + factor(PeftPatterns.scale(rslora, rank, alpha) / p.scale())
                        + " (alpha " + TargetLora.number(alpha) + " instead of " + TargetLora.number(p.alpha()) + ").");
            }
        }
    }

    /**
     * A scale's factor in words: "√2 (1.41421×) too large", "2× too large", "at half its scale", "at 1/√3 of its
     * scale", "at 1/4 of its scale", "at 0.4× its scale".
     */
    static String factor(double f) {
        if (f > 1) {
            return root(f).map(n -> n + " (" + TargetLora.number(f) + "×)").orElse(TargetLora.number(f) + "×")
                    + " too large";
        }
        if (PeftPatterns.same(f, 0.5)) {
            return "at half its scale";
        }
        double inverse = 1 / f;
        if (PeftPatterns.same(inverse, Math.rint(inverse))) {
            return "at 1/" + TargetLora.number(Math.rint(inverse)) + " of its scale";
        }
        return root(inverse).map(n -> "at 1/" + n + " of its scale").orElse("at " + TargetLora.number(f)
                + "× its scale");
    }

    /** "√k" for a factor that is the square root of an integer k up to 64 that is no square. */
    private static Optional<String> root(double f) {
        for (int k = 2; k <= 64; k++) {
            double r = Math.sqrt(k);
            if (r != Math.rint(r) && PeftPatterns.same(f, r)) {
                return Optional.of("√" + k);
            }
        }
        return Optional.empty();
    }

    private static boolean inBranch(LegacyToV5.Group g, LegacyToV5.Part p, int branch) {
        for (LegacyToV5.Part[] ps : g.experts.values()) {
            if (p.equals(ps[branch])) {
                return true;
            }
        }
        return false;
    }

    private static <V> V lookup(AdapterConfig config, Map<String, V> patterns, String name, V fallback)
            throws FuseboxException {
        Optional<String> key = PeftPatterns.decidingKey(config.file(), patterns.keySet(), name);
        return key.map(patterns::get).orElse(fallback);
    }

    private static Map<String, List<Map.Entry<java.util.regex.Pattern, String>>> loadRenamings() {
        try (InputStream in = PeftCheck.class.getResourceAsStream(TABLE)) {
            Map<String, List<Map.Entry<java.util.regex.Pattern, String>>> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> t : JsonMapper.builder().build().readTree(in).get("reapplied_renamings")
                    .properties()) {
                List<Map.Entry<java.util.regex.Pattern, String>> list = new ArrayList<>();
                t.getValue().forEach(r -> list.add(Map.entry(java.util.regex.Pattern.compile(r.get("from").asText()),
                        r.get("to").asText())));
                out.put(t.getKey(), List.copyOf(list));
            }
            return java.util.Collections.unmodifiableMap(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Pattern> load() {
        try (InputStream in = PeftCheck.class.getResourceAsStream(TABLE)) {
            if (in == null) {
                throw new IllegalStateException(TABLE + " is missing from the build");
            }
            JsonNode root = JsonMapper.builder().build().readTree(in);
            List<Pattern> out = new ArrayList<>();
            for (JsonNode p : root.get("patterns")) {
                Set<String> types = new LinkedHashSet<>();
                p.get("model_types").forEach(t -> types.add(t.asText()));
                Map<String, String> mapping = new LinkedHashMap<>();
                p.get("mapping").properties().forEach(e -> mapping.put(e.getKey(), e.getValue().asText()));
                Map<String, List<String>> fused = new LinkedHashMap<>();
                for (Map.Entry<String, JsonNode> e : p.get("fused").properties()) {
                    List<String> names = new ArrayList<>();
                    e.getValue().forEach(n -> names.add(n.asText()));
                    fused.put(e.getKey(), List.copyOf(names));
                }
                out.add(new Pattern(p.get("pattern").asText(), java.util.Collections.unmodifiableSet(types),
                        java.util.Collections.unmodifiableMap(mapping), fused));
            }
            return List.copyOf(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
