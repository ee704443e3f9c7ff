package dev.fusebox.converter.plan;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.rules.Converter;
import dev.fusebox.converter.rules.DirectedRules;
import dev.fusebox.converter.rules.Direction;
import dev.fusebox.converter.rules.KeyPattern;
import dev.fusebox.converter.rules.Operation;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.rules.RuleSet;
import dev.fusebox.converter.safetensors.TensorSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;

/**
 * Compiles a family's rules against a checkpoint's header into a {@link ConversionPlan}. Everything that could go
 * wrong is found here, before a byte is written, with the offending key named: no rules for the model type, a
 * checkpoint already in the layout asked for (or in both), a key two converters take, missing or extra experts,
 * mixed dtypes, shapes that do not fit together, two tensors that would be written under one key.
 */
public final class Planner {

    private Planner() {
    }

    /**
     * The plan that converts {@code checkpoint} to {@code to} (by default the other layout from the one it is in),
     * with the rules {@code book} has for its model type.
     */
    public static ConversionPlan plan(Checkpoint checkpoint, RuleBook book, Optional<Layout> to)
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
        RuleSet rules = found.orElseThrow(() -> new FuseboxException(Problem.NO_RULES, file, declared.isPresent()
                ? "has the model type '" + modelType + "', for which Fusebox has no conversion rules; add a rule file "
                        + "to " + RuleBook.userDirectory() + " or pass --rules FILE"
                : "has no config.json and no key that any conversion rule matches, so its family is unknown"));
        List<TensorSpec> sources = checkpoint.tensors().values().stream().map(StoredTensor::spec).toList();
        Optional<ModelConfig> config = checkpoint.modelConfig();
        RuleSet.Evidence evidence = rules.evidence(sources, config.map(ModelConfig::raw));
        SourceLayout source = SourceLayout.of(file, rules, evidence, config.isPresent());
        Layout from = source.layout();
        Layout target = to.orElse(from.other());
        if (target == Layout.UNKNOWN) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, "cannot be converted to an unknown layout");
        }
        if (target == from) {
            throw new FuseboxException(Problem.ALREADY_CONVERTED, file, "is already in the " + from.jsonName()
                    + " layout (for example '" + SourceLayout.example(evidence, from) + "'); nothing to convert");
        }
        DirectedRules directed = rules.toward(target == Layout.V5 ? Direction.TO_V5 : Direction.TO_LEGACY);
        OptionalInt experts = config.map(ModelConfig::numExperts).orElse(OptionalInt.empty());
        List<PlannedTarget> targets = new Compiler(file, directed, experts).compile(checkpoint.tensors().values());
        String origin = rules.family() + " rules (" + rules.origin() + ")";
        return new ConversionPlan(file, modelType, origin, from, target, sources, targets, "model.safetensors",
                Map.of(), source.warnings(), List.of());
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

    /** One compilation. */
    private record Compiler(Path file, DirectedRules rules, OptionalInt experts) {

        List<PlannedTarget> compile(Iterable<StoredTensor> tensors) throws FuseboxException {
            List<Entry> entries = new ArrayList<>();
            Map<GroupKey, Group> groups = new HashMap<>();
            for (StoredTensor t : tensors) {
                String input = rules.converterInput(t.key());
                Optional<DirectedRules.ConverterMatch> m = rules.converterFor(file, t.key(), input);
                TensorSpec spec = t.spec();
                if (m.isEmpty()) {
                    rules.checkCanonicalIndex(file, t.key(), input);
                    entries.add(new Copy(spec, rules.renamesBeforeConverting() ? input : rules.rename(t.key())));
                    continue;
                }
                DirectedRules.ConverterMatch cm = m.get();
                GroupKey gk = new GroupKey(cm.converter(), cm.match().prefix(), cm.match().suffix());
                Group g = groups.get(gk);
                if (g == null) {
                    g = new Group(gk, cm.match(), converter(gk).sources().size());
                    groups.put(gk, g);
                    entries.add(new GroupRef(g));
                }
                int index = Math.max(cm.match().index(), 0);
                TensorSpec previous = g.slots.get(cm.source()).put(index, spec);
                if (previous != null) {
                    throw new FuseboxException(Problem.KEY_COLLISION, file, t.key(), "the rules read it as the same "
                            + "tensor as '" + previous.key() + "' (both become '" + input + "')");
                }
            }
            List<PlannedTarget> out = new ArrayList<>();
            Map<String, String> written = new LinkedHashMap<>();
            for (Entry e : entries) {
                List<PlannedTarget> made = switch (e) {
                    case Copy c -> List.of(new PlannedTarget(new TensorSpec(c.targetKey(), c.source().dtype(),
                            c.source().shape()), List.of(), new CopyRecipe(Assembly.of(c.source()).placements())));
                    case GroupRef g -> assemble(g.group());
                };
                for (PlannedTarget t : made) {
                    // Every target made here is a copy; its first placement's source is its first source.
                    String from = ((CopyRecipe) t.recipe()).placements().getFirst().source().key();
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

        private Converter converter(GroupKey gk) {
            return rules.converters().get(gk.converter());
        }

        private List<PlannedTarget> assemble(Group g) throws FuseboxException {
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
            List<List<Assembly>> slots = new ArrayList<>();
            for (int s = 0; s < c.sources().size(); s++) {
                List<Assembly> slot = new ArrayList<>();
                for (TensorSpec spec : g.slots.get(s).values()) {
                    slot.add(Assembly.of(spec));
                }
                slots.add(slot);
            }
            boolean joining = c.joinsExperts();
            // Each group of experts runs the chain on its own; the slots of all groups are held in group order.
            List<List<List<Assembly>>> groups = new ArrayList<>();
            if (joining) {
                slots.forEach(slot -> groups.add(List.of(slot)));
            } else {
                groups.add(slots);
            }
            List<Boolean> indexed = new ArrayList<>(c.sources().stream().map(KeyPattern::indexed).toList()
                    .subList(0, joining ? 1 : c.sources().size()));
            for (Operation op : c.operations()) {
                try {
                    List<List<List<Assembly>>> next = switch (op) {
                        case Operation.SplitExperts s -> splitExperts(groups.getFirst(), c);
                        case Operation.JoinExperts j -> List.of(joinExperts(groups, c));
                        default -> {
                            List<Boolean> before = List.copyOf(indexed);
                            List<List<List<Assembly>>> out = new ArrayList<>();
                            for (List<List<Assembly>> group : groups) {
                                indexed.clear();
                                indexed.addAll(before);
                                out.add(apply(op, group, indexed, c, g));
                            }
                            yield out;
                        }
                    };
                    groups.clear();
                    groups.addAll(next);
                } catch (IllegalArgumentException e) {
                    throw new FuseboxException(Problem.RAGGED_SHAPES, file, first.key(), "the rule " + c + " cannot "
                            + "apply: " + e.getMessage());
                }
            }
            slots = groups.stream().flatMap(List::stream).toList();
            if (c.splitsExperts()) {
                indexed = new ArrayList<>(Collections.nCopies(slots.size(), indexed.getFirst()));
            }
            List<String> ops = c.operations().stream().map(Operation::describe).toList();
            List<PlannedTarget> out = new ArrayList<>();
            int length = slots.getFirst().size();
            for (int i = 0; i < length; i++) {
                for (int s = 0; s < slots.size(); s++) {
                    Assembly a = slots.get(s).get(i);
                    String key = rules.outputKey(c.targets().get(s), g.match, indexed.get(s) ? i : -1);
                    out.add(new PlannedTarget(new TensorSpec(key, first.dtype(), a.shape()), ops,
                            new CopyRecipe(inTargetOrder(a))));
                }
            }
            return out;
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

        private List<List<Assembly>> apply(Operation op, List<List<Assembly>> slots, List<Boolean> indexed,
                                           Converter c, Group g) throws FuseboxException {
            List<List<Assembly>> out = new ArrayList<>();
            switch (op) {
                case Operation.Stack s -> {
                    for (int i = 0; i < slots.size(); i++) {
                        checkSameShapes(slots.get(i));
                        out.add(List.of(Assembly.stack(slots.get(i), s.dim())));
                        indexed.set(i, false);
                    }
                }
                case Operation.Unstack u -> {
                    for (int i = 0; i < slots.size(); i++) {
                        Assembly a = slots.get(i).getFirst();
                        if (u.dim() < a.shape().rank() && experts.isPresent()
                                && a.shape().dim(u.dim()) != experts.getAsInt()) {
                            long n = a.shape().dim(u.dim());
                            TensorSpec src = a.placements().getFirst().source();
                            throw new FuseboxException(n < experts.getAsInt() ? Problem.MISSING_EXPERT
                                    : Problem.EXTRA_EXPERT, file, src.key(), "it holds " + n + " experts along axis "
                                    + u.dim() + ", but config.json declares " + experts.getAsInt());
                        }
                        out.add(a.unstack(u.dim()));
                        indexed.set(i, true);
                    }
                }
                case Operation.Concat cc -> {
                    List<Assembly> parts = slots.stream().map(List::getFirst).toList();
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
                    out.add(List.of(Assembly.concat(parts, cc.dim())));
                    indexed.clear();
                    indexed.add(false);
                }
                case Operation.Chunk ch -> {
                    for (Assembly part : slots.getFirst().getFirst().chunk(ch.dim(), c.targetsPerGroup())) {
                        out.add(List.of(part));
                    }
                    indexed.clear();
                    for (int i = 0; i < c.targetsPerGroup(); i++) {
                        indexed.add(false);
                    }
                }
                case Operation.Transpose t -> {
                    for (List<Assembly> slot : slots) {
                        out.add(slot.stream().map(a -> a.transpose(t.dim0(), t.dim1())).toList());
                    }
                }
                case Operation.Interleave il -> {
                    for (List<Assembly> slot : slots) {
                        out.add(slot.stream().map(a -> a.interleave(il.dim(), il.inverted())).toList());
                    }
                }
                case Operation.SplitExperts _, Operation.JoinExperts _ ->
                        throw new IllegalStateException(op.describe() + " works on groups, not within one");
            }
            return out;
        }

        /**
         * {@code split_experts}: every slot's experts cut into one equal, consecutive group per target. A count that
         * does not divide is refused: transformers cuts ceil(n / groups) per group, which leaves the last group short
         * (or empty), and its model holds as many experts in each.
         */
        private List<List<List<Assembly>>> splitExperts(List<List<Assembly>> slots, Converter c)
                throws FuseboxException {
            int groups = c.targets().size();
            List<List<List<Assembly>>> out = new ArrayList<>();
            for (int g = 0; g < groups; g++) {
                out.add(new ArrayList<>());
            }
            for (List<Assembly> slot : slots) {
                if (slot.size() % groups != 0) {
                    throw new FuseboxException(Problem.RAGGED_SHAPES, file, slot.getLast().placements().getFirst()
                            .source().key(), "the rule " + c + " splits " + slot.size() + " experts into " + groups
                            + " equal groups, one per target, and " + slot.size() + " does not divide by " + groups
                            + " (transformers would give the groups " + ceilGroups(slot.size(), groups) + " experts)");
                }
                int size = slot.size() / groups;
                for (int g = 0; g < groups; g++) {
                    out.get(g).add(slot.subList(g * size, (g + 1) * size));
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
        private List<List<Assembly>> joinExperts(List<List<List<Assembly>>> groups, Converter c)
                throws FuseboxException {
            List<List<Assembly>> out = new ArrayList<>();
            for (int s = 0; s < groups.getFirst().size(); s++) {
                List<Assembly> joined = new ArrayList<>();
                for (List<List<Assembly>> group : groups) {
                    List<Assembly> part = group.get(s);
                    int size = groups.getFirst().get(s).size();
                    if (part.size() != size) {
                        throw new FuseboxException(Problem.RAGGED_SHAPES, file, part.getFirst().placements()
                                .getFirst().source().key(), "it holds " + part.size() + " experts but '"
                                + groups.getFirst().get(s).getFirst().placements().getFirst().source().key()
                                + "' holds " + size + "; the rule " + c + " joins groups of one size only, so that "
                                + "split_experts can cut them apart again");
                    }
                    joined.addAll(part);
                }
                out.add(joined);
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
