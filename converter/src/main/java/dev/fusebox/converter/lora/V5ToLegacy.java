package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.Assembly;
import dev.fusebox.converter.plan.CopyRecipe;
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
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Plans a v5 adapter back in the legacy PEFT format, the exact inverse of {@link LegacyToV5}: each legacy module's
 * A is a block of rows of the wrapper's A (a byte range, copied), its B the strided columns {@code k·E + e} of the
 * wrapper's B in its branch's rows; each gets the alpha that keeps the wrapper's scale at its own rank. PEFT 0.21
 * cannot save this direction at all.
 */
final class V5ToLegacy {

    private static final Pattern LAYER = Pattern.compile("\\.layers\\.(\\d+)\\.");

    private final Checkpoint adapter;
    private final AdapterConfig config;
    private final AdapterTensors tensors;
    private final LoraRoles roles;
    private final Optional<BaseModel> base;
    private final Optional<Dtype> dtype;
    private final List<String> warnings = new ArrayList<>();
    private final Map<String, TargetLora> lora = new LinkedHashMap<>();
    private final List<PatternWriter.Need> needs = new ArrayList<>();

    V5ToLegacy(Checkpoint adapter, AdapterConfig config, AdapterTensors tensors, LoraRoles roles,
               Optional<BaseModel> base, Optional<Dtype> dtype) {
        this.adapter = adapter;
        this.config = config;
        this.tensors = tensors;
        this.roles = roles;
        this.base = base;
        this.dtype = dtype;
    }

    AdapterPlan plan() throws FuseboxException {
        V5Reading.Result reading = V5Reading.read(adapter, config, tensors, roles, base);
        warnings.addAll(reading.notes());
        rsloraSignature(reading);
        List<PlannedTarget> targets = new ArrayList<>();
        List<String> leaves = new ArrayList<>();
        for (V5Reading.Module m : reading.modules()) {
            targets.addAll(module(m));
            if (!(m.source() instanceof V5Reading.PlainModule)) {
                String leaf = LoraRoles.leaf(m.legacy());
                if (!leaves.contains(leaf)) {
                    leaves.add(leaf);
                }
            }
        }
        targets.addAll(others());
        targets.sort((a, b) -> a.key().compareTo(b.key()));
        ObjectNode legacy = legacyConfig(reading, leaves);
        PeftVerdict verdict = new PeftVerdict(PeftVerdict.Outcome.NOT_APPLICABLE, "It is already in the v5 format, "
                + "which PEFT 0.21 loads as it is; PEFT cannot write the legacy format back, Fusebox can.", List.of());
        return AdapterPlans.assemble(adapter, roles.modelType(), roles, dtype.map(d -> " as " + d.name()).orElse(""),
                targets, legacy, warnings, lora, verdict, Layout.V5, Layout.LEGACY, false);
    }

    private List<PlannedTarget> module(V5Reading.Module m) throws FuseboxException {
        String aKey = AdapterTensors.key(m.legacy(), 'A');
        String bKey = AdapterTensors.key(m.legacy(), 'B');
        double alpha = switch (m.source()) {
            case V5Reading.Stacked s -> snap(PeftPatterns.keepScale(config.useRslora(), s.fusedRank(), s.alpha(),
                    m.rank()));
            case V5Reading.RouterParam r -> r.alpha();
            case V5Reading.PlainModule p -> p.alpha();
        };
        Optional<String> group = m.source() instanceof V5Reading.PlainModule ? Optional.empty()
                : Optional.of(PeftPatterns.escape(LoraRoles.leaf(m.legacy())));
        needs.add(new PatternWriter.Need(m.legacy(), group, m.rank(), alpha));
        List<PlannedTarget> out = new ArrayList<>();
        switch (m.source()) {
            case V5Reading.Stacked s -> {
                TargetLora t = new TargetLora(List.of(s.param()), List.of(s.fusedRank()), List.of(s.alpha()), m.rank(),
                        alpha, m.scale());
                lora.put(aKey, t);
                lora.put(bKey, t);
                String branch = roles.branchNames(s.converter()).get(s.branch());
                out.add(rows(aKey, m.a(), "LoRA A of " + m.legacy() + ": rows " + m.a().offset() / m.a().cols() + ":"
                        + (m.a().offset() / m.a().cols() + m.rank()) + " of " + m.a().tensor().key() + " (expert "
                        + s.expert() + ", " + branch + ")"));
                out.add(Targets.blocks(bKey, type(m.b().tensor()), m.b().rows(), m.rank(),
                        List.of(new BlockMatrix.Block(m.b(), 0, 0, 1, 1.0)), List.of("select(columns k·E + e)"),
                        "LoRA B of " + m.legacy() + ": " + branch + "'s rows of " + m.b().tensor().key()
                                + ", columns k·" + m.b().colStride() + " + " + s.expert() + " for k in "
                                + ((m.b().offset() % m.b().rowStride()) / m.b().colStride()) + ":"
                                + ((m.b().offset() % m.b().rowStride()) / m.b().colStride() + m.rank())));
            }
            case V5Reading.RouterParam r -> {
                TargetLora t = new TargetLora(List.of(r.param()), List.of(m.rank()), List.of(r.alpha()), m.rank(),
                        alpha, m.scale());
                lora.put(aKey, t);
                lora.put(bKey, t);
                out.add(Targets.copy(aKey, m.a().tensor(), dtype));
                out.add(Targets.copy(bKey, m.b().tensor(), dtype));
            }
            case V5Reading.PlainModule p -> {
                TargetLora t = new TargetLora(List.of(p.module()), List.of(m.rank()), List.of(p.alpha()), m.rank(),
                        alpha, m.scale());
                lora.put(aKey, t);
                lora.put(bKey, t);
                out.add(Targets.copy(aKey, m.a().tensor(), dtype));
                out.add(Targets.copy(bKey, m.b().tensor(), dtype));
            }
        }
        return out;
    }

    /** Contiguous rows of a wrapper's A: a byte-range copy, or a cast. */
    private PlannedTarget rows(String key, MatrixView view, String description) {
        Dtype to = type(view.tensor());
        long from = view.offset() / view.cols();
        if (to == view.tensor().dtype()) {
            Assembly rows = Assembly.of(view.tensor()).slice(0, from, view.rows());
            return new PlannedTarget(new TensorSpec(key, to, rows.shape()), List.of("slice(dim=0)"),
                    new CopyRecipe(rows.placements()));
        }
        return Targets.blocks(key, to, view.rows(), view.cols(), List.of(new BlockMatrix.Block(view, 0, 0, 1, 1.0)),
                List.of("slice(dim=0)", "cast(" + to.name() + ")"), description);
    }

    private Dtype type(TensorSpec source) {
        return Targets.castTo(source.dtype(), dtype);
    }

    /** An alpha computed from a scale, without the last bits of rounding when it is the config's or a whole number. */
    private double snap(double alpha) {
        if (PeftPatterns.same(alpha, config.loraAlpha())) {
            return config.loraAlpha();
        }
        return PeftPatterns.same(alpha, Math.rint(alpha)) ? Math.rint(alpha) : alpha;
    }

    private List<PlannedTarget> others() throws FuseboxException {
        List<PlannedTarget> out = new ArrayList<>();
        Path file = adapter.location();
        for (TensorSpec s : tensors.others()) {
            String key = AdapterTensors.modelKey(s);
            int at = key.indexOf(".lora_");
            if (at >= 0) {
                String module = key.substring(0, at);
                if (module.contains(".base_layer") || config.targetsParameter(module + ".weight")) {
                    throw new FuseboxException(Problem.UNSUPPORTED, file, s.key(), "a parameter wrapper's "
                            + key.substring(at + 1) + " has no legacy form");
                }
                out.add(Targets.copy(AdapterTensors.PREFIX + roles.legacyModule(module) + key.substring(at), s, dtype));
                continue;
            }
            if (roles.converted(file, key)) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, s.key(), "it is a full expert weight (from "
                        + "modules_to_save); converting saved expert modules is not supported, only their LoRA");
            }
            out.add(Targets.copy(AdapterTensors.PREFIX + roles.renamed(key, false), s, dtype));
        }
        return out;
    }

    private ObjectNode legacyConfig(V5Reading.Result reading, List<String> leaves) throws FuseboxException {
        ObjectNode c = config.raw();
        c.remove("target_parameters");
        JsonNode tm = c.get("target_modules");
        if (tm != null && tm.isTextual()) {
            c.put("target_modules", String.join("|", reading.modules().stream()
                    .map(m -> PeftPatterns.escape(m.legacy())).toList()));
        } else {
            Set<String> names = new LinkedHashSet<>();
            if (tm != null && tm.isArray()) {
                tm.forEach(t -> names.add(t.asText()));
            }
            names.addAll(leaves);
            ArrayNode list = c.putArray("target_modules");
            names.forEach(list::add);
        }
        PatternWriter.Patterns patterns = PatternWriter.write(config.file(), config.r(), config.loraAlpha(),
                carried(config.rankPattern()), carried(config.alphaPattern()), needs);
        ObjectNode rp = c.putObject("rank_pattern");
        patterns.rank().forEach(rp::put);
        ObjectNode ap = c.putObject("alpha_pattern");
        patterns.alpha().forEach((k, v) -> AdapterPlans.putNumber(ap, k, v));
        JsonNode mts = c.get("modules_to_save");
        if (mts != null && mts.isArray()) {
            ArrayNode renamed = c.putArray("modules_to_save");
            mts.forEach(m -> renamed.add(roles.renamedToLegacy(m.asText())));
        }
        widenLayers(c, reading);
        return c;
    }

    /** The config's pattern entries that still match a legacy module (those about v5 parameters match none). */
    private <V> Map<String, V> carried(Map<String, V> patterns) throws FuseboxException {
        Map<String, V> out = new LinkedHashMap<>();
        for (Map.Entry<String, V> e : patterns.entrySet()) {
            for (PatternWriter.Need n : needs) {
                if (PeftPatterns.matches(config.file(), e.getKey(), n.name())) {
                    out.put(e.getKey(), e.getValue());
                    break;
                }
            }
        }
        return out;
    }

    /**
     * PEFT applies layers_to_transform to target_parameters not at all, to target_modules fully: expert LoRA of
     * layers outside it would be ignored on the legacy model, so those layers are added (with a warning).
     */
    private void widenLayers(ObjectNode c, V5Reading.Result reading) {
        if (config.layersToTransform().isEmpty()) {
            return;
        }
        Set<Integer> layers = new TreeSet<>(config.layersToTransform().get());
        Set<Integer> added = new TreeSet<>();
        for (V5Reading.Module m : reading.modules()) {
            Matcher x = LAYER.matcher("." + m.legacy() + ".");
            if (!(m.source() instanceof V5Reading.PlainModule) && x.find()
                    && layers.add(Integer.parseInt(x.group(1)))) {
                added.add(Integer.parseInt(x.group(1)));
            }
        }
        if (!added.isEmpty()) {
            ArrayNode list = c.putArray("layers_to_transform");
            layers.forEach(list::add);
            warnings.add("layers_to_transform gains layers " + added + ": the v5 adapter has expert or router LoRA "
                    + "there (target_parameters ignore layers_to_transform), and the legacy format needs them listed.");
        }
    }

    /**
     * A v5 adapter with rsLoRA whose fused wrapper has rank n·r, alpha n·lora_alpha and a block-diagonal B is most
     * likely one PEFT 0.21 converted from a legacy adapter: its fused deltas are sqrt(n) too large. The conversion
     * keeps what the file means; the warning says what it probably was meant to be.
     */
    private void rsloraSignature(V5Reading.Result reading) throws FuseboxException {
        if (!config.useRslora()) {
            return;
        }
        Set<String> seen = new LinkedHashSet<>();
        for (V5Reading.Module m : reading.modules()) {
            if (m.source() instanceof V5Reading.Stacked s && s.blockDiagonal() && seen.add(s.param())) {
                int n = roles.stacked(adapter.location(), s.param()).map(LoraRoles.Stacked::branches).orElse(1);
                if (n > 1 && s.fusedRank() == n * config.r() && PeftPatterns.same(s.alpha(), n * config.loraAlpha())) {
                    warnings.add(s.param() + " has rsLoRA with alpha " + TargetLora.number(s.alpha()) + " = " + n
                            + "·lora_alpha at rank " + s.fusedRank() + ": that is what PEFT 0.21 writes when it "
                            + "converts a legacy adapter, and it makes the deltas sqrt(" + n + ") too large. The legacy "
                            + "adapter written keeps the file's meaning (alpha " + TargetLora.number(
                            PeftPatterns.alphaFor(true, config.r(), PeftPatterns.scale(true, s.fusedRank(), s.alpha())))
                            + " per branch); if the file came from PEFT's conversion, the original alpha was "
                            + TargetLora.number(config.loraAlpha()) + ".");
                }
            }
        }
    }
}
