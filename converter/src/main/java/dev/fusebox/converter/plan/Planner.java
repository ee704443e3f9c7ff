package dev.fusebox.converter.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.checkpoint.QuantizationConfig;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.rules.Converter;
import dev.fusebox.converter.rules.DirectedRules;
import dev.fusebox.converter.rules.Direction;
import dev.fusebox.converter.rules.KeyPattern;
import dev.fusebox.converter.rules.Operation;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.rules.RuleSet;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;

/**
 * Compiles a family's rules against a checkpoint's header into a {@link ConversionPlan}. Everything that could go
 * wrong is found here, before a byte is written, with the offending key named: no rules for the model type, a
 * checkpoint already in the layout asked for (or in both), a key two converters take, missing or extra experts,
 * mixed dtypes, shapes that do not fit together, two tensors that would be written under one key.
 */
public final class Planner {

    /** The FP8 scale companions of expert weights: '_scale_inv' after the weight's key, or DeepSeek-V4's '.scale'. */
    private static final String SCALE_INV = "_scale_inv";
    private static final String SCALE = ".scale";

    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private Planner() {
    }

    /**
     * The plan that converts {@code checkpoint} to {@code to} (by default the other layout from the one it is in),
     * with the rules {@code book} has for its model type.
     */
    public static ConversionPlan plan(Checkpoint checkpoint, RuleBook book, Optional<Layout> to)
            throws FuseboxException {
        return plan(checkpoint, book, to, false);
    }

    /**
     * {@link #plan(Checkpoint, RuleBook, Optional)}, and with {@code dequantize} every fine-grained FP8 weight
     * written dense in the model's dtype, as transformers' CPU loading computes it, config.json without its
     * {@code quantization_config}.
     */
    public static ConversionPlan plan(Checkpoint checkpoint, RuleBook book, Optional<Layout> to, boolean dequantize)
            throws FuseboxException {
        Path file = checkpoint.location();
        if (checkpoint.kind() == CheckpointKind.ADAPTER) {
            throw new FuseboxException(Problem.UNSUPPORTED, file,
                    "is a LoRA adapter; the model rules plan model checkpoints, adapters go through the adapter planner");
        }
        Optional<String> declared = checkpoint.modelConfig().flatMap(ModelConfig::modelType);
        String modelType = checkpoint.modelType();
        Optional<RuleSet> found = book.forModelType(modelType);
        if (found.isEmpty() && declared.isEmpty()) {
            found = book.guess(checkpoint.tensors().keySet());
        }
        RuleSet rules = found.orElseThrow(() -> declared.isPresent()
                ? new FuseboxException(Problem.NO_RULES, file, "has the model type '" + modelType + "', for which "
                        + "Fusebox has no conversion rules; add a rule file to " + RuleBook.userDirectory(),
                        Remedy.RULE_FILE)
                : new FuseboxException(Problem.NO_RULES, file, "has no config.json and no key that any conversion "
                        + "rule matches, so its family is unknown"));
        List<TensorSpec> sources = checkpoint.tensors().values().stream().map(StoredTensor::spec).toList();
        Optional<ModelConfig> config = checkpoint.modelConfig();
        if (rules.bornFused()) {
            throw new FuseboxException(to.orElse(Layout.V5) == Layout.V5 ? Problem.ALREADY_CONVERTED
                    : Problem.UNSUPPORTED, file, "is a " + modelType + " checkpoint, which is born fused: "
                    + "transformers has only the fused layout for it (" + rules.description() + "), so there is "
                    + (to.orElse(Layout.V5) == Layout.V5 ? "nothing to convert" : "no legacy layout to convert to"));
        }
        Optional<QuantizationConfig> quantization = config.flatMap(c -> QuantizationConfig.of(c.raw()));
        RuleSet.Evidence evidence = rules.evidence(sources, config.map(ModelConfig::raw));
        SourceLayout source;
        try {
            source = SourceLayout.of(file, rules, evidence, config.isPresent());
        } catch (FuseboxException e) {
            boolean noKeyTells = evidence.legacyKey().isEmpty() && evidence.v5Key().isEmpty();
            throw noKeyTells ? quantizedInstead(e, file, rules, sources, quantization) : e;
        }
        Layout from = source.layout();
        Layout target = to.orElse(from.other());
        if (target == Layout.UNKNOWN) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, "cannot be converted to an unknown layout");
        }
        if (target == from && !dequantize) {
            throw new FuseboxException(Problem.ALREADY_CONVERTED, file, "is already in the " + from.jsonName()
                    + " layout (for example '" + SourceLayout.example(evidence, from) + "'); nothing to convert");
        }
        DirectedRules directed = rules.toward(target == Layout.V5 ? Direction.TO_V5 : Direction.TO_LEGACY);
        if (target == from) {
            // Dequantizing in place: every tensor is copied as it is, but the FP8 weights, which are dequantized.
            directed = new DirectedRules(rules, directed.direction(), List.of(), List.of());
        }
        OptionalInt experts = config.map(ModelConfig::numExperts).orElse(OptionalInt.empty());
        Dtype output = config.flatMap(ModelConfig::dtype)
                .filter(d -> d == Dtype.BF16 || d == Dtype.F16 || d == Dtype.F32).orElse(Dtype.BF16);
        Compiler compiler = new Compiler(file, directed, experts, quantization, dequantize ? Optional.of(output)
                : Optional.empty(), target, rules.family(), new ArrayList<>());
        List<PlannedTarget> targets = compiler.compile(checkpoint.tensors().values());
        String origin = rules.family() + " rules (" + rules.origin() + ")";
        List<String> warnings = new ArrayList<>(source.warnings());
        warnings.addAll(compiler.warnings());
        Map<String, String> generated = Map.of();
        if (dequantize && config.isPresent()) {
            ObjectNode raw = config.get().raw();
            raw.remove("quantization_config");
            generated = Map.of("config.json", prettyJson(raw));
        }
        return new ConversionPlan(file, modelType, origin, from, target, sources, targets, "model.safetensors",
                generated, warnings, List.of());
    }

    /** {@code node} as config.json files are written: indented, with a final newline. */
    private static String prettyJson(ObjectNode node) {
        try {
            return JSON.writeValueAsString(node) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed config.json could not be written again", e);
        }
    }

    /**
     * What to say when no key shows a layout: where expert tensors sit in the modules the rules fuse (or split) but
     * no converter takes them (GPTQ's {@code experts.0.gate_proj.qweight}), the format they are in; else {@code e}.
     */
    private static FuseboxException quantizedInstead(FuseboxException e, Path file, RuleSet rules,
                                                     List<TensorSpec> sources, Optional<QuantizationConfig> quantization) {
        if (e.problem() != Problem.MIXED_LAYOUT) {
            return e;
        }
        for (Direction d : Direction.values()) {
            DirectedRules directed = rules.toward(d);
            ExpertModules modules = ExpertModules.of(directed);
            List<TensorSpec> stranded = sources.stream()
                    .filter(t -> modules.holds(directed.converterInput(t.key()))).toList();
            if (!stranded.isEmpty()) {
                return QuantizedExperts.refusal(file, stranded, quantization,
                        d == Direction.TO_V5 ? Layout.V5 : Layout.LEGACY, rules.family());
            }
        }
        return e;
    }

    /** The group a converter collects: one converter at one place (a layer, say). */
    private record GroupKey(int converter, String prefix, String suffix) {
    }

    /** The tensors a converter collected at one place, slot by slot (by expert index for a '*' pattern). */
    private static final class Group {
        final GroupKey key;
        final KeyPattern.Match match;
        final List<TreeMap<Integer, TensorSpec>> slots = new ArrayList<>();

        Group(GroupKey key, KeyPattern.Match match, int slotCount) {
            this.key = key;
            this.match = match;
            for (int i = 0; i < slotCount; i++) {
                slots.add(new TreeMap<>());
            }
        }
    }

    /** Either one tensor copied (perhaps renamed) or the first sight of a converter group, in source order. */
    private sealed interface Entry permits Copy, GroupRef {
    }

    private record Copy(TensorSpec source, String targetKey) implements Entry {
    }

    private record GroupRef(Group group) implements Entry {
    }

    /**
     * One compilation.
     *
     * @param quantization config.json's quantization_config, if any
     * @param dequantize   the dtype FP8 weights are dequantized to, when asked to dequantize
     * @param to           the layout written
     * @param warnings     what the compilation found the user should know, filled as it goes
     */
    private record Compiler(Path file, DirectedRules rules, OptionalInt experts,
                            Optional<QuantizationConfig> quantization, Optional<Dtype> dequantize, Layout to,
                            String family, List<String> warnings) {

        List<PlannedTarget> compile(Iterable<StoredTensor> tensors) throws FuseboxException {
            List<Entry> entries = new ArrayList<>();
            Map<GroupKey, Group> groups = new HashMap<>();
            Map<GroupKey, Group> scaleGroups = new LinkedHashMap<>();
            Map<String, TensorSpec> all = new HashMap<>();
            for (StoredTensor t : tensors) {
                String input = rules.converterInput(t.key());
                Optional<DirectedRules.ConverterMatch> m = rules.converterFor(file, t.key(), input);
                TensorSpec spec = t.spec();
                all.put(t.key(), spec);
                if (m.isEmpty()) {
                    rules.checkCanonicalIndex(file, t.key(), input);
                    Optional<DirectedRules.ConverterMatch> weight = scaleOf(t.key());
                    if (weight.isPresent()) {
                        collect(scaleGroups, null, weight.get(), spec, input);
                    } else {
                        entries.add(new Copy(spec, rules.renamesBeforeConverting() ? input : rules.rename(t.key())));
                    }
                    continue;
                }
                collect(groups, entries, m.get(), spec, input);
            }
            refuseLeftovers(entries, groups, scaleGroups);
            Optional<BlockScales> block = blockScales(scaleGroups);
            Map<String, TensorSpec> denseScales = dequantize.isPresent() ? denseScales(entries, all) : Map.of();
            Set<String> denseScaleKeys = new HashSet<>();
            denseScales.values().forEach(v -> denseScaleKeys.add(v.key()));
            if (dequantize.isPresent() && scaleGroups.isEmpty() && denseScales.isEmpty()) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, "dequantizing applies to fine-grained FP8 "
                        + "checkpoints (F8_E4M3 weights with weight_scale_inv), and this one has none",
                        Remedy.DEQUANTIZE);
            }
            Optional<BlockScales> denseBlock = block;
            if (denseBlock.isEmpty() && !denseScales.isEmpty()) {
                denseBlock = Optional.of(requireBlock(denseScales.values().iterator().next()));
            }
            if (block.isPresent() && dequantize.isEmpty() && to == Layout.V5) {
                warnings.add("transformers 5.18 loads a fused FP8 MoE correctly only on FP8-capable GPUs (compute "
                        + "capability 8.9 or more): on CPU and older GPUs it dequantizes per expert before fusing, "
                        + "and drops the fused scales of a fused file as unexpected (weights up to 448 off, with only "
                        + "a warning); convert it dequantized for dense experts that load everywhere");
            }
            List<PlannedTarget> out = new ArrayList<>();
            Map<String, String> written = new LinkedHashMap<>();
            for (Entry e : entries) {
                List<PlannedTarget> made = switch (e) {
                    case Copy c when denseScales.containsKey(c.source().key()) ->
                            List.of(dequantized(c, denseScales.get(c.source().key()), denseBlock.orElseThrow()));
                    case Copy c when denseScaleKeys.contains(c.source().key()) -> List.of();
                    case Copy c -> List.of(new PlannedTarget(new TensorSpec(c.targetKey(), c.source().dtype(),
                            c.source().shape()), List.of(), new CopyRecipe(Assembly.of(c.source()).placements())));
                    case GroupRef g -> assembleWithScales(g.group(), scaleGroups.get(g.group().key), block);
                };
                for (PlannedTarget t : made) {
                    String from = t.sources().getFirst().key();
                    String before = written.putIfAbsent(t.key(), from);
                    if (before != null) {
                        throw new FuseboxException(Problem.KEY_COLLISION, file, from, "it would be written as '"
                                + t.key() + "', which '" + before + "' becomes too");
                    }
                    out.add(t);
                }
            }
            return out;
        }

        /** Files {@code spec} into its converter group (made and, with {@code entries}, listed at first sight). */
        private void collect(Map<GroupKey, Group> groups, List<Entry> entries, DirectedRules.ConverterMatch cm,
                             TensorSpec spec, String input) throws FuseboxException {
            GroupKey gk = new GroupKey(cm.converter(), cm.match().prefix(), cm.match().suffix());
            Group g = groups.get(gk);
            if (g == null) {
                g = new Group(gk, cm.match(), converter(gk).sources().size());
                groups.put(gk, g);
                if (entries != null) {
                    entries.add(new GroupRef(g));
                }
            }
            int index = Math.max(cm.match().index(), 0);
            TensorSpec previous = g.slots.get(cm.source()).put(index, spec);
            if (previous != null) {
                throw new FuseboxException(Problem.KEY_COLLISION, file, spec.key(), "the rules read it as the same "
                        + "tensor as '" + previous.key() + "' (both become '" + input + "')");
            }
        }

        /**
         * Where {@code key} is the FP8 block scale of a weight a converter takes ({@code W_scale_inv}, or {@code
         * W.scale} of the weight {@code W.weight}, as transformers renames DeepSeek-V4's), that weight's match.
         */
        private Optional<DirectedRules.ConverterMatch> scaleOf(String key) throws FuseboxException {
            List<String> bases = new ArrayList<>();
            if (key.endsWith(SCALE_INV)) {
                bases.add(key.substring(0, key.length() - SCALE_INV.length()));
            }
            boolean fp8 = quantization.filter(QuantizationConfig::fineGrainedFp8).isPresent();
            if (key.endsWith(SCALE) && rules.renamesBeforeConverting() && fp8) {
                bases.add(key.substring(0, key.length() - SCALE.length()) + ".weight");
            }
            for (String base : bases) {
                Optional<DirectedRules.ConverterMatch> m = rules.converterFor(file, base, rules.converterInput(base));
                if (m.isPresent() && m.get().match().suffix().isEmpty()) {
                    return m;
                }
            }
            return Optional.empty();
        }

        /**
         * Refuses the plan when it would leave expert tensors behind: tensors under a module whose experts a
         * converter takes that no converter consumes, a converter's matches with something after the weight's
         * name ({@code w1.weight.absmax}), expert weights that are not floats (packed), and block scales whose
         * weight is not there.
         */
        private void refuseLeftovers(List<Entry> entries, Map<GroupKey, Group> groups, Map<GroupKey, Group> scales)
                throws FuseboxException {
            ExpertModules modules = ExpertModules.of(rules);
            List<TensorSpec> leftovers = new ArrayList<>();
            for (Entry e : entries) {
                switch (e) {
                    case Copy c -> {
                        if (modules.holds(rules.converterInput(c.source().key()))) {
                            leftovers.add(c.source());
                        }
                    }
                    case GroupRef r -> {
                        boolean experts = expertContainer(r.group()).isPresent();
                        boolean companion = experts && !r.group().key.suffix().isEmpty();
                        for (TreeMap<Integer, TensorSpec> slot : r.group().slots) {
                            for (TensorSpec t : slot.values()) {
                                if (companion || (experts && !floatingPoint(t.dtype()))) {
                                    leftovers.add(t);
                                }
                            }
                        }
                    }
                }
            }
            for (Map.Entry<GroupKey, Group> s : scales.entrySet()) {
                if (!groups.containsKey(s.getKey())) {
                    s.getValue().slots.forEach(slot -> leftovers.addAll(slot.values()));
                }
            }
            if (!leftovers.isEmpty()) {
                throw QuantizedExperts.refusal(file, leftovers, quantization, to, family);
            }
        }

        /**
         * The module whose experts group {@code g} takes, in converter-input terms and ending with a dot
         * ({@code model.layers.0.mlp.experts.}): for a pattern with '*', the text before the index; for a fused
         * tensor, its parent module. Empty when that module is not named {@code experts}.
         */
        private Optional<String> expertContainer(Group g) {
            String text = converter(g.key).sources().getFirst().text();
            int star = text.indexOf('*');
            String head = star >= 0 ? text.substring(0, star) : text.substring(0, text.lastIndexOf('.') + 1);
            String container = g.match.prefix() + head;
            return container.endsWith("experts.") ? Optional.of(container) : Optional.empty();
        }

        /**
         * Whether elements of {@code d} are floating-point numbers, not packed integers (sub-byte floats are refused
         * later, with their own reason).
         */
        private static boolean floatingPoint(Dtype d) {
            return switch (d) {
                case I64, I32, I16, I8, U64, U32, U16, U8, BOOL -> false;
                default -> true;
            };
        }

        /** The block grid of the FP8 scales found, from config.json; none found, none needed. */
        private Optional<BlockScales> blockScales(Map<GroupKey, Group> scales) throws FuseboxException {
            if (scales.isEmpty()) {
                return Optional.empty();
            }
            TensorSpec first = scales.values().iterator().next().slots.stream().filter(m -> !m.isEmpty())
                    .findFirst().orElseThrow().firstEntry().getValue();
            return Optional.of(requireBlock(first));
        }

        private BlockScales requireBlock(TensorSpec scale) throws FuseboxException {
            Optional<QuantizationConfig> fp8 = quantization.filter(QuantizationConfig::fineGrainedFp8);
            Optional<List<Integer>> b = fp8.flatMap(QuantizationConfig::weightBlockSize);
            JsonNode given = fp8.map(q -> q.raw().get("weight_block_size")).orElse(null);
            if (b.isEmpty() && given != null && !given.isNull()) {
                throw new FuseboxException(Problem.INVALID_CONFIG, file, scale.key(), "it is an FP8 block scale, "
                        + "but config.json's quantization_config.weight_block_size is " + given + ", not two "
                        + "positive whole numbers [rows, columns], so the blocks it scales are unknown");
            }
            if (b.isEmpty()) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, scale.key(), "it is an FP8 block scale, but "
                        + "config.json's quantization_config " + (quantization.isEmpty() ? "is missing"
                        : "(quant_method " + quantization.get().method() + ") gives no weight_block_size of fp8")
                        + ", so the blocks it scales are unknown and it cannot follow its weight; restore the "
                        + "checkpoint's config.json");
            }
            return new BlockScales(b.get().get(0), b.get().get(1));
        }

        /**
         * For --dequantize, the scale of every FP8 weight that is copied (attention and other dense projections),
         * by weight key: {@code X.weight} with {@code X.weight_scale_inv} (or DeepSeek-V4's {@code X.scale}).
         */
        private static Map<String, TensorSpec> denseScales(List<Entry> entries, Map<String, TensorSpec> all) {
            Map<String, TensorSpec> out = new HashMap<>();
            for (Entry e : entries) {
                if (e instanceof Copy c && c.source().dtype() == Dtype.F8_E4M3 && c.source().key().endsWith(".weight")
                        && c.source().shape().rank() >= 2) {
                    String base = c.source().key().substring(0, c.source().key().length() - ".weight".length());
                    TensorSpec scale = all.getOrDefault(base + ".weight" + SCALE_INV, all.get(base + SCALE));
                    if (scale != null) {
                        out.put(c.source().key(), scale);
                    }
                }
            }
            return out;
        }

        /** A copied FP8 weight, dequantized with its scale. */
        private PlannedTarget dequantized(Copy c, TensorSpec scale, BlockScales block) throws FuseboxException {
            block.check(file, c.source(), scale, true);
            Dtype d = dequantize.orElseThrow();
            Assembly a = Assembly.of(c.source());
            return new PlannedTarget(new TensorSpec(c.targetKey(), d, a.shape()), List.of("dequantize_fp8"),
                    new ComputedRecipe(List.of(c.source(), scale), "F8_E4M3 × block scales " + block + " → "
                            + d.torchName(), new Fp8Dequantization(a.shape(), d, a.placements(),
                            Map.of(c.source().key(), scale), block)));
        }

        /**
         * A converter group's targets, and its FP8 scales' ({@code scales}, or null): the scales go through the
         * same operations, each written right after its weight under the weight's name with {@code _scale_inv}
         * (or dense, dequantized, in their place).
         */
        private List<PlannedTarget> assembleWithScales(Group g, Group scales, Optional<BlockScales> block)
                throws FuseboxException {
            if (scales == null) {
                return assemble(g, "", Optional.empty()).targets();
            }
            BlockScales grid = block.orElseThrow();
            Map<String, TensorSpec> byWeight = new HashMap<>();
            for (int s = 0; s < g.slots.size(); s++) {
                for (Map.Entry<Integer, TensorSpec> w : g.slots.get(s).entrySet()) {
                    TensorSpec scale = scales.slots.get(s).get(w.getKey());
                    if (scale == null) {
                        throw new FuseboxException(Problem.MISSING_TENSOR, file, w.getValue().key(), "it is an FP8 "
                                + "weight whose experts' block scales the checkpoint holds, but its own scale ("
                                + w.getValue().key() + SCALE_INV + ") is missing");
                    }
                    grid.check(file, w.getValue(), scale, dequantize.isPresent());
                    byWeight.put(w.getValue().key(), scale);
                }
            }
            for (int s = 0; s < scales.slots.size(); s++) {
                for (Map.Entry<Integer, TensorSpec> sc : scales.slots.get(s).entrySet()) {
                    if (!g.slots.get(s).containsKey(sc.getKey())) {
                        throw new FuseboxException(Problem.MISSING_TENSOR, file, sc.getValue().key(), "it is the "
                                + "block scale of a weight the checkpoint does not hold");
                    }
                }
            }
            Assembled weights = assemble(g, "", Optional.of(grid));
            if (dequantize.isPresent()) {
                Dtype d = dequantize.get();
                List<PlannedTarget> out = new ArrayList<>();
                for (int i = 0; i < weights.targets().size(); i++) {
                    PlannedTarget w = weights.targets().get(i);
                    Assembly a = weights.assemblies().get(i);
                    List<TensorSpec> sources = new ArrayList<>(w.sources());
                    Map<String, TensorSpec> used = new HashMap<>();
                    for (TensorSpec src : w.sources()) {
                        used.put(src.key(), byWeight.get(src.key()));
                        sources.add(byWeight.get(src.key()));
                    }
                    List<String> ops = new ArrayList<>(List.of("dequantize_fp8"));
                    ops.addAll(w.operations());
                    out.add(new PlannedTarget(new TensorSpec(w.key(), d, w.shape()), ops, new ComputedRecipe(sources,
                            "F8_E4M3 × block scales " + grid + " → " + d.torchName() + ", then " + String.join(", ",
                            w.operations()), new Fp8Dequantization(w.shape(), d, inTargetOrder(a), used, grid))));
                }
                return out;
            }
            List<PlannedTarget> scaled = assemble(scales, SCALE_INV, Optional.empty()).targets();
            List<PlannedTarget> out = new ArrayList<>();
            for (int i = 0; i < weights.targets().size(); i++) {
                out.add(weights.targets().get(i));
                out.add(scaled.get(i));
            }
            return out;
        }

        private Converter converter(GroupKey gk) {
            return rules.converters().get(gk.converter());
        }

        /** A group's targets, each with the assembly it copies. */
        private record Assembled(List<PlannedTarget> targets, List<Assembly> assemblies) {
        }

        /**
         * The targets of group {@code g}, named with {@code keySuffix} after the targets' names; with {@code grid},
         * every concat and chunk is checked to keep FP8 blocks whole, and a transpose or interleave is refused.
         */
        private Assembled assemble(Group g, String keySuffix, Optional<BlockScales> grid) throws FuseboxException {
            Converter c = converter(g.key);
            List<TensorSpec> all = checkMembers(g, c);
            TensorSpec first = all.getFirst();
            for (TensorSpec s : all) {
                if (s.dtype() != first.dtype()) {
                    throw new FuseboxException(Problem.MIXED_DTYPES, file, s.key(), "it is " + s.dtype().name()
                            + " but '" + first.key() + "' is " + first.dtype().name() + "; tensors joined into '"
                            + targetName(c, g, 0) + "' must share one dtype");
                }
            }
            if (!first.dtype().wholeBytes()) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, first.key(), "it is " + first.dtype()
                        + ", whose " + first.dtype().bits() + "-bit elements share bytes; Fusebox copies such tensors "
                        + "whole but cannot " + String.join(", ", c.describeOperations()) + " them");
            }
            if (grid.isPresent()) {
                for (Operation op : c.operations()) {
                    if (op instanceof Operation.Transpose || op instanceof Operation.Interleave) {
                        throw new FuseboxException(Problem.UNSUPPORTED, file, first.key(), "it is an FP8 weight "
                                + "with block scales, and the rule " + c + " would " + op.describe() + " it, which "
                                + "moves elements across the " + grid.get() + " blocks its scales cover");
                    }
                }
            }
            List<Slot> slots = new ArrayList<>();
            for (int s = 0; s < c.sources().size(); s++) {
                slots.add(new Slot(g.slots.get(s).values().stream().map(Assembly::of).toList(),
                        c.sources().get(s).indexed()));
            }
            // Each group of experts runs the chain on its own; the slots of all groups are held in group order.
            List<List<Slot>> groups = c.joinsExperts() ? slots.stream().map(List::of).toList() : List.of(slots);
            for (Operation op : c.operations()) {
                try {
                    groups = switch (op) {
                        case Operation.SplitExperts s -> splitExperts(groups.getFirst(), c);
                        case Operation.JoinExperts j -> List.of(joinExperts(groups, c));
                        default -> {
                            List<List<Slot>> out = new ArrayList<>();
                            for (List<Slot> group : groups) {
                                out.add(apply(op, group, c, grid));
                            }
                            yield out;
                        }
                    };
                } catch (IllegalArgumentException e) {
                    throw new FuseboxException(Problem.RAGGED_SHAPES, file, first.key(), "the rule " + c + " cannot "
                            + "apply: " + e.getMessage());
                }
            }
            slots = groups.stream().flatMap(List::stream).toList();
            List<String> ops = c.operations().stream().map(Operation::describe).toList();
            List<PlannedTarget> out = new ArrayList<>();
            List<Assembly> assemblies = new ArrayList<>();
            int length = slots.getFirst().tensors().size();
            for (int i = 0; i < length; i++) {
                for (int s = 0; s < slots.size(); s++) {
                    Assembly a = slots.get(s).tensors().get(i);
                    String key = rules.outputKey(c.targets().get(s), g.match, slots.get(s).perExpert() ? i : -1)
                            + keySuffix;
                    out.add(new PlannedTarget(new TensorSpec(key, first.dtype(), a.shape()), ops,
                            new CopyRecipe(inTargetOrder(a))));
                    assemblies.add(a);
                }
            }
            return new Assembled(out, assemblies);
        }

        /**
         * The placements of {@code a} in the order of their first byte in the target (an empty one counts as at 0),
         * each offset worked out once: a fused target of a large model has thousands of placements.
         */
        private static List<Placement> inTargetOrder(Assembly a) {
            List<Placement> placements = a.placements();
            long[] strides = Placement.strides(a.shape());
            long[] offsets = new long[placements.size()];
            boolean sorted = true;
            for (int i = 0; i < offsets.length; i++) {
                offsets[i] = placements.get(i).targetOffset(strides);
                sorted &= i == 0 || offsets[i - 1] <= offsets[i];
            }
            if (sorted) {
                return placements;
            }
            Integer[] order = new Integer[offsets.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, Comparator.comparingLong(i -> offsets[i]));
            List<Placement> out = new ArrayList<>(order.length);
            for (int i : order) {
                out.add(placements.get(i));
            }
            return out;
        }

        /** Every member of the group in slot order, after checking that each slot has the same experts, all of them. */
        private List<TensorSpec> checkMembers(Group g, Converter c) throws FuseboxException {
            int max = -1;
            int fullest = 0;
            for (int s = 0; s < g.slots.size(); s++) {
                if (!g.slots.get(s).isEmpty() && g.slots.get(s).lastKey() > max) {
                    max = g.slots.get(s).lastKey();
                    fullest = s;
                }
            }
            boolean stacking = c.operations().stream().anyMatch(op -> op instanceof Operation.Stack);
            // config.json counts each group's experts (ernie4_5_vl_moe: 64 text and 64 vision in one list of 128).
            int groups = c.splitsExperts() ? c.expertGroups() : 1;
            if (stacking && experts.isPresent()) {
                int declared = Math.multiplyExact(experts.getAsInt(), groups);
                if (max >= declared) {
                    TensorSpec extra = g.slots.get(fullest).get(max);
                    throw new FuseboxException(Problem.EXTRA_EXPERT, file, extra.key(), "it is expert " + max
                            + ", but config.json declares " + experts.getAsInt() + " experts"
                            + (groups > 1 ? " in each of " + groups + " groups" : ""));
                }
                max = declared - 1;
            }
            List<TensorSpec> all = new ArrayList<>();
            for (int s = 0; s < g.slots.size(); s++) {
                KeyPattern pattern = c.sources().get(s);
                TreeMap<Integer, TensorSpec> slot = g.slots.get(s);
                if (!pattern.indexed()) {
                    if (slot.isEmpty()) {
                        TensorSpec present = g.slots.stream().filter(m -> !m.isEmpty()).findFirst().orElseThrow()
                                .firstEntry().getValue();
                        throw new FuseboxException(Problem.MISSING_TENSOR, file, present.key(), "the rule " + c
                                + " joins it with '" + pattern.expand(g.match.prefix(), g.match.suffix(), -1)
                                + "', which the checkpoint does not hold");
                    }
                    all.addAll(slot.values());
                    continue;
                }
                // Indices are distinct and not negative: when there are max + 1 of them, none above max, all are there.
                boolean complete = slot.size() == max + 1 && (slot.isEmpty() || slot.lastKey() <= max);
                for (int i = 0; i <= max && !complete; i++) {
                    if (!slot.containsKey(i)) {
                        throw missingExpert(g, c, s, i);
                    }
                }
                all.addAll(slot.values());
            }
            return all;
        }

        private FuseboxException missingExpert(Group g, Converter c, int slot, int index) {
            TensorSpec partner = null;
            for (TreeMap<Integer, TensorSpec> other : g.slots) {
                if (other.containsKey(index)) {
                    partner = other.get(index);
                    break;
                }
            }
            String expected = expectedKey(g, c, slot, index);
            if (partner != null) {
                return new FuseboxException(Problem.MISSING_EXPERT, file, expected, "expert " + index + " has '"
                        + partner.key() + "' but not this partner; every expert needs all of " + c.sources());
            }
            TreeMap<Integer, TensorSpec> present = g.slots.get(slot);
            return new FuseboxException(Problem.MISSING_EXPERT, file, expected, "expert " + index + " is missing"
                    + (present.isEmpty() ? "" : " (found " + present.size() + " experts, numbered "
                    + present.firstKey() + " to " + present.lastKey() + ")") + (experts.isPresent()
                    ? "; config.json declares " + experts.getAsInt() + " experts"
                    : "; experts must be numbered 0, 1, 2, … without gaps"));
        }

        /**
         * The checkpoint key a missing expert would have: a present expert's key of the same slot with its index
         * replaced, or (when the slot is empty) the key the rule's pattern expects.
         */
        private String expectedKey(Group g, Converter c, int slot, int index) {
            TreeMap<Integer, TensorSpec> present = g.slots.get(slot);
            if (!present.isEmpty()) {
                Map.Entry<Integer, TensorSpec> e = present.firstEntry();
                String key = e.getValue().key();
                String marker = "." + e.getKey() + ".";
                int at = key.lastIndexOf(marker);
                if (at >= 0) {
                    return key.substring(0, at) + "." + index + "." + key.substring(at + marker.length());
                }
            }
            return c.sources().get(slot).expand(g.match.prefix(), g.match.suffix(), index);
        }

        private String targetName(Converter c, Group g, int slot) {
            return rules.outputKey(c.targets().get(slot), g.match, c.targets().get(slot).indexed() ? 0 : -1);
        }

        private List<Slot> apply(Operation op, List<Slot> slots, Converter c, Optional<BlockScales> grid)
                throws FuseboxException {
            List<Slot> out = new ArrayList<>();
            if (grid.isPresent()) {
                checkBlocks(op, slots, c, grid.get());
            }
            switch (op) {
                case Operation.Stack s -> {
                    for (Slot slot : slots) {
                        checkSameShapes(slot.tensors());
                        out.add(new Slot(List.of(Assembly.stack(slot.tensors(), s.dim())), false));
                    }
                }
                case Operation.Unstack u -> {
                    for (Slot slot : slots) {
                        Assembly a = slot.only();
                        if (u.dim() < a.shape().rank() && experts.isPresent()
                                && a.shape().dim(u.dim()) != experts.getAsInt()) {
                            long n = a.shape().dim(u.dim());
                            TensorSpec src = a.placements().getFirst().source();
                            throw new FuseboxException(n < experts.getAsInt() ? Problem.MISSING_EXPERT
                                    : Problem.EXTRA_EXPERT, file, src.key(), "it holds " + n + " experts along axis "
                                    + u.dim() + ", but config.json declares " + experts.getAsInt());
                        }
                        out.add(new Slot(a.unstack(u.dim()), true));
                    }
                }
                case Operation.Concat cc -> {
                    List<Assembly> parts = slots.stream().map(Slot::only).toList();
                    for (int i = 1; i < parts.size(); i++) {
                        Assembly p = parts.get(i);
                        if (cc.dim() < p.shape().rank() && cc.dim() < parts.getFirst().shape().rank()
                                && p.shape().dim(cc.dim()) != parts.getFirst().shape().dim(cc.dim())) {
                            throw new FuseboxException(Problem.RAGGED_SHAPES, file,
                                    p.placements().getFirst().source().key(), "its part is " + p.shape() + " but '"
                                    + parts.getFirst().placements().getFirst().source().key() + "' gives "
                                    + parts.getFirst().shape() + "; concat(dim=" + cc.dim() + ") joins equal parts "
                                    + "only, so that chunk can split them again");
                        }
                    }
                    out.add(new Slot(List.of(Assembly.concat(parts, cc.dim())), false));
                }
                case Operation.Chunk ch -> {
                    for (Assembly part : slots.getFirst().only().chunk(ch.dim(), c.targetsPerGroup())) {
                        out.add(new Slot(List.of(part), false));
                    }
                }
                case Operation.Transpose t -> {
                    for (Slot slot : slots) {
                        out.add(slot.holding(slot.tensors().stream().map(a -> a.transpose(t.dim0(), t.dim1()))
                                .toList()));
                    }
                }
                case Operation.Interleave il -> {
                    for (Slot slot : slots) {
                        out.add(slot.holding(slot.tensors().stream().map(a -> a.interleave(il.dim(), il.inverted()))
                                .toList()));
                    }
                }
                case Operation.SplitExperts _, Operation.JoinExperts _ ->
                        throw new IllegalStateException(op.describe() + " works on groups, not within one");
            }
            return out;
        }

        /**
         * Refuses a concat or chunk that would cut an FP8 block in two: each part's length along the axis must be a
         * whole number of blocks, or the scales, joined or split the same way, would no longer line up with them.
         */
        private void checkBlocks(Operation op, List<Slot> slots, Converter c, BlockScales grid)
                throws FuseboxException {
            List<Assembly> parts = new ArrayList<>();
            int dim;
            int pieces;
            switch (op) {
                case Operation.Concat cc -> {
                    slots.forEach(slot -> parts.add(slot.only()));
                    dim = cc.dim();
                    pieces = 1;
                }
                case Operation.Chunk ch -> {
                    parts.add(slots.getFirst().only());
                    dim = ch.dim();
                    pieces = c.targetsPerGroup();
                }
                default -> {
                    return;
                }
            }
            for (Assembly p : parts) {
                int rank = p.shape().rank();
                if (dim >= rank) {
                    continue;
                }
                long b = grid.along(dim, rank);
                long length = p.shape().dim(dim) / pieces;
                if (length % b != 0) {
                    TensorSpec src = p.placements().getFirst().source();
                    throw new FuseboxException(Problem.UNSUPPORTED, file, src.key(), "the rule " + c + " would "
                            + op.describe() + " FP8 weights of " + length + " along axis " + dim + ", which is not a "
                            + "whole number of the " + b + "-long blocks of weight_block_size " + grid + "; their "
                            + "block scales cannot follow, so transformers v5 could not hold them fused; dequantize "
                            + "them for dense weights", Remedy.DEQUANTIZE);
                }
            }
        }

        /**
         * {@code split_experts}: every slot's experts cut into one equal, consecutive group per target. A count that
         * does not divide is refused: transformers cuts ceil(n / groups) per group, which leaves the last group short
         * (or empty), and its model holds as many experts in each.
         */
        private List<List<Slot>> splitExperts(List<Slot> slots, Converter c) throws FuseboxException {
            int groups = c.targets().size();
            List<List<Slot>> out = new ArrayList<>();
            for (int g = 0; g < groups; g++) {
                out.add(new ArrayList<>());
            }
            for (Slot slot : slots) {
                List<Assembly> experts = slot.tensors();
                if (experts.size() % groups != 0) {
                    throw new FuseboxException(Problem.RAGGED_SHAPES, file, experts.getLast().placements().getFirst()
                            .source().key(), "the rule " + c + " splits " + experts.size() + " experts into " + groups
                            + " equal groups, one per target, and " + experts.size() + " does not divide by " + groups
                            + " (transformers would give the groups " + ceilGroups(experts.size(), groups)
                            + " experts)");
                }
                int size = experts.size() / groups;
                for (int g = 0; g < groups; g++) {
                    out.get(g).add(slot.holding(experts.subList(g * size, (g + 1) * size)));
                }
            }
            return out;
        }

        /** transformers' split_list_into_chunks: groups of ceil(n / groups), the last ones short or empty. */
        private static String ceilGroups(int n, int groups) {
            int size = (n + groups - 1) / groups;
            List<String> sizes = new ArrayList<>();
            for (int g = 0; g < groups; g++) {
                sizes.add(Integer.toString(Math.clamp(n - (long) g * size, 0, size)));
            }
            return String.join(" + ", sizes);
        }

        /**
         * {@code join_experts}: slot by slot, the expert lists of every group one after another. Groups of different
         * lengths are refused, since {@code split_experts} could not cut them apart again.
         */
        private List<Slot> joinExperts(List<List<Slot>> groups, Converter c) throws FuseboxException {
            List<Slot> out = new ArrayList<>();
            for (int s = 0; s < groups.getFirst().size(); s++) {
                List<Assembly> firstPart = groups.getFirst().get(s).tensors();
                List<Assembly> joined = new ArrayList<>();
                for (List<Slot> group : groups) {
                    List<Assembly> part = group.get(s).tensors();
                    if (part.size() != firstPart.size()) {
                        throw new FuseboxException(Problem.RAGGED_SHAPES, file, part.getFirst().placements()
                                .getFirst().source().key(), "it holds " + part.size() + " experts but '"
                                + firstPart.getFirst().placements().getFirst().source().key() + "' holds "
                                + firstPart.size() + "; the rule " + c + " joins groups of one size only, so that "
                                + "split_experts can cut them apart again");
                    }
                    joined.addAll(part);
                }
                out.add(groups.getFirst().get(s).holding(joined));
            }
            return out;
        }

        private void checkSameShapes(List<Assembly> experts) throws FuseboxException {
            Assembly first = experts.getFirst();
            for (int i = 1; i < experts.size(); i++) {
                if (!experts.get(i).shape().equals(first.shape())) {
                    TensorSpec odd = experts.get(i).placements().getFirst().source();
                    TensorSpec ref = first.placements().getFirst().source();
                    throw new FuseboxException(Problem.RAGGED_SHAPES, file, odd.key(), "its shape is "
                            + odd.shape() + " but '" + ref.key() + "' is " + ref.shape()
                            + "; experts stacked into one tensor must all have one shape");
                }
            }
        }
    }
}
