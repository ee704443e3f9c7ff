package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.Assembly;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.Placement;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.rules.RuleSet;
import dev.fusebox.converter.tensor.Shape;
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
 * Plans a base model converted (or kept in its layout) with a LoRA adapter merged in: the engine's plan for the
 * base, where every target that holds a weight the adapter changes becomes a computed target that streams the
 * weight and applies the adapter's change as PEFT 0.21 merges it (see {@link AdapterDeltas}; in double, rounded
 * once to the base dtype). Weights are matched in legacy
 * names, so a legacy or a v5 adapter merges into a legacy or a v5 base alike. The rules' operations must place each
 * weight as one byte range (stack, concat, chunk and unstack do).
 */
public final class MergePlanner {

    private MergePlanner() {
    }

    /** A run of a target: elements of one source, and the legacy weight (and element) they are, if known. */
    private record Run(TensorSpec source, long from, long at, long count, Optional<String> weight, long weightFrom,
                       Shape weightShape) {
    }

    public static ConversionPlan plan(Checkpoint base, Checkpoint adapter, RuleBook book, Optional<Layout> to)
            throws FuseboxException {
        if (base.kind() != CheckpointKind.MODEL) {
            throw new FuseboxException(Problem.UNSUPPORTED, base.location(), "is an adapter; merging puts an adapter "
                    + "into a base model", Remedy.MERGE_ADAPTER);
        }
        AdapterDeltas deltas = deltas(base, adapter, book);

        Layout from = base.layout();
        // a born-fused base (gpt_oss) is v5 with its 4.x names: merged, it stays as it is
        boolean bornFused = book.forModelType(base.modelType()).map(RuleSet::bornFused).orElse(false);
        Layout target = to.orElse(from == Layout.UNKNOWN ? Layout.UNKNOWN : bornFused ? from : from.other());
        ConversionPlan basePlan = target == from || from == Layout.UNKNOWN ? identity(base, from)
                : Planner.plan(base, book, Optional.of(target));
        Map<String, List<Run>> v5Weights = from == Layout.V5 && target == Layout.V5
                ? bornFused ? wholeTensors(base) : legacyRangesOfV5(base, book) : Map.of();

        Set<String> used = new LinkedHashSet<>();
        List<PlannedTarget> targets = new ArrayList<>();
        int merged = 0;
        for (PlannedTarget t : basePlan.targets()) {
            List<Run> runs = runs(t, from, target, v5Weights, deltas, base.location());
            boolean touched = runs.stream().anyMatch(r -> r.weight.isPresent()
                    && (deltas.changes().containsKey(r.weight.get()) || deltas.replacements().containsKey(r.weight.get())));
            if (!touched) {
                targets.add(t);
                continue;
            }
            targets.add(merge(t, runs, deltas, used, base.location()));
            merged++;
        }
        Set<String> missing = new LinkedHashSet<>(deltas.changes().keySet());
        missing.addAll(deltas.replacements().keySet());
        missing.removeAll(used);
        if (!missing.isEmpty()) {
            String first = missing.iterator().next();
            if (deltas.change(first).orElse(null) instanceof AdapterDeltas.BiasShift shift) {
                throw new FuseboxException(Problem.UNSUPPORTED, base.location(), first, "the adapter's lora_bias adds "
                        + "to it, but " + shift.module() + " has no bias in the base, and PEFT says so too: "
                        + "\"Impossible to merge LoRA with `lora_bias=True` because the base layer has no bias.\"");
            }
            throw new FuseboxException(Problem.MISSING_TENSOR, base.location(), first,
                    "the adapter changes it, but the base model has no such weight");
        }
        List<String> warnings = new ArrayList<>(basePlan.warnings());
        warnings.addAll(deltas.notes());
        return new ConversionPlan(base.location(), basePlan.modelType(), basePlan.rules() + ", with "
                + adapter.displayName() + " merged into " + merged + " tensor" + (merged == 1 ? "" : "s"),
                basePlan.from(), target, basePlan.sourceTensors(), targets, basePlan.weightsName(), basePlan.generatedFiles(),
                warnings, List.of(adapter.location()));
    }

    /** What {@code adapter} does to the weights of {@code base}, a model, in legacy names. */
    static AdapterDeltas deltas(Checkpoint base, Checkpoint adapter, RuleBook book) throws FuseboxException {
        BaseModel baseModel = BaseModel.open(base.location(), book);
        AdapterPlanner.config(adapter);
        AdapterTensors tensors = AdapterTensors.of(adapter.location(), adapter.specs());
        LoraRoles roles = new LoraRoles(book.forModelType(baseModel.modelType()).orElseThrow(() ->
                new FuseboxException(Problem.NO_RULES, base.location(), "has the model type '"
                        + baseModel.modelType() + "', for which Fusebox has no conversion rules")),
                baseModel.modelType(), false);
        return AdapterDeltas.of(adapter, Optional.of(baseModel), roles, isLegacy(adapter, tensors));
    }

    private static boolean isLegacy(Checkpoint adapter, AdapterTensors tensors)
            throws FuseboxException {
        if (!AdapterPlanner.config(adapter).targetParameters().isEmpty()) {
            return false;
        }
        for (String m : tensors.pairs().keySet()) {
            if (m.contains(".base_layer")) {
                return false;
            }
        }
        return true;
    }

    /** A plan that writes every tensor as it is, for merging without changing the layout. */
    private static ConversionPlan identity(Checkpoint base, Layout layout) throws FuseboxException {
        List<PlannedTarget> targets = new ArrayList<>();
        for (TensorSpec s : base.specs()) {
            targets.add(new PlannedTarget(s, List.of(), new CopyRecipe(Assembly.of(s).placements())));
        }
        return new ConversionPlan(base.location(), base.modelType(), "no conversion", layout, layout, base.specs(),
                targets);
    }

    /**
     * For a v5 base kept in v5: where each legacy weight lies in the stacked tensors, from the plan that would
     * convert the base to legacy (each legacy weight is one byte range of a stacked tensor).
     */
    private static Map<String, List<Run>> legacyRangesOfV5(Checkpoint base, RuleBook book) throws FuseboxException {
        Map<String, List<Run>> out = new LinkedHashMap<>();
        for (PlannedTarget legacy : Planner.plan(base, book, Optional.of(Layout.LEGACY)).targets()) {
            if (!(legacy.recipe() instanceof CopyRecipe c)) {
                continue;
            }
            for (Placement p : c.placements()) {
                Placement.Runs runs = p.runs(legacy.shape());
                // Sub-byte elements (F4, F6_*) have no byte offset each; no LoRA merges into them.
                if (runs.count() != 1 || !p.source().dtype().wholeBytes()) {
                    continue;
                }
                int size = p.source().dtype().byteSize();
                out.computeIfAbsent(p.source().key(), k -> new ArrayList<>()).add(new Run(p.source(),
                        runs.sourceBase() / size, runs.sourceBase() / size, runs.runBytes() / size,
                        Optional.of(legacy.key()), runs.targetBase() / size, legacy.shape()));
            }
        }
        return out;
    }

    /** Each tensor as the one legacy weight of its own name, whole. */
    private static Map<String, List<Run>> wholeTensors(Checkpoint base) {
        Map<String, List<Run>> out = new LinkedHashMap<>();
        for (TensorSpec s : base.specs()) {
            long n = s.shape().elementCount();
            out.put(s.key(), List.of(new Run(s, 0, 0, n, Optional.of(s.key()), 0, s.shape())));
        }
        return out;
    }

    /** The target's runs in target order, each with the legacy weight it is when the layouts tell. */
    private static List<Run> runs(PlannedTarget t, Layout from, Layout to, Map<String, List<Run>> v5Weights,
                                  AdapterDeltas deltas, Path file) throws FuseboxException {
        if (!(t.recipe() instanceof CopyRecipe c) || !t.dtype().wholeBytes()) {
            return List.of();
        }
        List<Run> out = new ArrayList<>();
        for (Placement p : c.placements()) {
            Placement.Runs runs = p.runs(t.shape());
            int size = p.source().dtype().byteSize();
            Optional<String> weight = from != Layout.V5 ? Optional.of(p.source().key())
                    : to == Layout.LEGACY ? Optional.of(t.key()) : Optional.empty();
            boolean changed = weight.isPresent() && (deltas.changes().containsKey(weight.get())
                    || deltas.replacements().containsKey(weight.get()));
            if (runs.count() != 1) {
                if (changed || (from == Layout.V5 && to == Layout.V5)) {
                    throw new FuseboxException(Problem.UNSUPPORTED, file, p.source().key(), "the rules place it in "
                            + t.key() + " by strides, and Fusebox merges LoRA only into weights the rules move whole");
                }
                out.add(new Run(p.source(), 0, -1, 0, Optional.empty(), 0, null));
                continue;
            }
            long fromElem = runs.sourceBase() / size;
            long at = runs.targetBase() / size;
            long count = runs.runBytes() / size;
            long weightFrom = from != Layout.V5 ? fromElem : at;
            Shape weightShape = from != Layout.V5 ? p.source().shape() : t.shape();
            if (from == Layout.V5 && to == Layout.V5) {
                out.addAll(split(p.source(), fromElem, at, count, v5Weights.getOrDefault(p.source().key(), List.of())));
            } else {
                out.add(new Run(p.source(), fromElem, at, count, weight, weightFrom, weightShape));
            }
        }
        out.sort((x, y) -> Long.compare(x.at, y.at));
        return out;
    }

    /** Elements [from, from + count) of a v5 tensor cut where the legacy weights in it begin and end. */
    private static List<Run> split(TensorSpec source, long from, long at, long count, List<Run> weights) {
        List<Run> out = new ArrayList<>();
        long pos = from;
        long end = from + count;
        List<Run> sorted = new ArrayList<>(weights);
        sorted.sort((x, y) -> Long.compare(x.from, y.from));
        for (Run w : sorted) {
            long lo = Math.max(pos, w.from);
            long hi = Math.min(end, w.from + w.count);
            if (lo >= hi) {
                continue;
            }
            if (lo > pos) {
                out.add(new Run(source, pos, at + pos - from, lo - pos, Optional.empty(), 0, null));
            }
            out.add(new Run(source, lo, at + lo - from, hi - lo, w.weight, w.weightFrom + lo - w.from,
                    w.weightShape));
            pos = hi;
        }
        if (pos < end) {
            out.add(new Run(source, pos, at + pos - from, end - pos, Optional.empty(), 0, null));
        }
        return out;
    }

    private static PlannedTarget merge(PlannedTarget t, List<Run> runs, AdapterDeltas deltas, Set<String> used,
                                       Path file) throws FuseboxException {
        List<MergedTensor.Segment> segments = new ArrayList<>();
        Set<TensorSpec> sources = new LinkedHashSet<>();
        List<String> what = new ArrayList<>();
        long next = 0;
        for (Run r : runs) {
            if (r.at < 0) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, t.key(), "the rules build it by strides, and "
                        + "Fusebox merges LoRA only into tensors the rules assemble from whole byte ranges");
            }
            if (r.at != next) {
                throw new FuseboxException(Problem.INVALID_RULES, file, t.key(), "its placements leave a hole at "
                        + "element " + next);
            }
            next = r.at + r.count;
            Optional<AdapterDeltas.Change> change = r.weight.flatMap(deltas::change);
            Optional<TensorSpec> replacement = r.weight.map(deltas.replacements()::get);
            TensorSpec source = replacement.orElse(r.source);
            if (replacement.isPresent()) {
                checkReplacement(replacement.get(), r, t, file);
                used.add(r.weight.get());
                what.add(r.weight.get() + " replaced by " + replacement.get().key());
            }
            if (change.orElse(null) instanceof AdapterDeltas.ExpertDeltas x) {
                if (replacement.isPresent() || !r.weightShape.equals(Shape.of(x.experts().size(), x.rows(), x.cols()))) {
                    throw new FuseboxException(Problem.RAGGED_SHAPES, file, r.weight.orElseThrow(), "it is "
                            + r.weightShape + ", but the adapter's LoRA for it makes " + x.experts().size()
                            + " experts' [" + x.rows() + ", " + x.cols() + "]");
                }
                used.add(r.weight.get());
                sources.add(source);
                x.experts().forEach(d -> {
                    sources.add(d.a().tensor());
                    sources.add(d.b().tensor());
                });
                what.add("LoRA of " + x.module() + "'s " + x.experts().size() + " experts (rank "
                        + x.experts().getFirst().rank() + ", scale " + TargetLora.number(x.scale()) + ")");
                segments.addAll(perExpert(source, r, x));
                continue;
            }
            if (change.orElse(null) instanceof AdapterDeltas.Delta d) {
                checkShape(d, r, file);
                used.add(r.weight.get());
                sources.add(d.a().tensor());
                sources.add(d.b().tensor());
                d.magnitude().ifPresent(m -> sources.add(m.tensor()));
                what.add((d.magnitude().isPresent() ? "DoRA" : "LoRA") + " of " + d.module() + " (rank " + d.rank()
                        + ", scale " + TargetLora.number(d.scale()) + ")");
            } else if (change.orElse(null) instanceof AdapterDeltas.BiasShift b) {
                if (!r.weightShape.equals(b.bias().shape())) {
                    throw new FuseboxException(Problem.RAGGED_SHAPES, file, r.weight.orElseThrow(), "it is "
                            + r.weightShape + ", but the adapter's lora_B bias for it is " + b.bias().shape());
                }
                used.add(r.weight.get());
                sources.add(b.bias());
                what.add("lora_B bias of " + b.module() + " (scale " + TargetLora.number(b.scale()) + ")");
            }
            sources.add(source);
            long from = replacement.isPresent() ? r.weightFrom : r.from;
            segments.add(new MergedTensor.Segment(source.key(), source.dtype(), from, r.count, change, r.weightFrom));
        }
        List<TensorSpec> ordered = new ArrayList<>(sources);
        List<String> ops = new ArrayList<>(t.operations());
        ops.add("merge_lora");
        String description = "the base weights with the adapter's " + (what.size() <= 4 ? String.join(", ", what)
                : String.join(", ", what.subList(0, 3)) + " and " + (what.size() - 3) + " more") + " merged in";
        return new PlannedTarget(t.spec(), ops, new ComputedRecipe(ordered, description,
                new MergedTensor(t.dtype(), segments)));
    }

    /** A run of a stacked parameter cut where its experts begin, each piece with that expert's delta. */
    private static List<MergedTensor.Segment> perExpert(TensorSpec source, Run r, AdapterDeltas.ExpertDeltas x) {
        long size = Math.multiplyExact(x.rows(), x.cols());
        List<MergedTensor.Segment> out = new ArrayList<>();
        for (long done = 0; done < r.count; ) {
            long at = r.weightFrom + done;
            long n = Math.min(r.count - done, size - at % size);
            AdapterDeltas.Change expert = x.experts().get(Math.toIntExact(at / size));
            out.add(new MergedTensor.Segment(source.key(), source.dtype(), r.from + done, n, Optional.of(expert),
                    at % size));
            done += n;
        }
        return out;
    }

    private static void checkShape(AdapterDeltas.Delta d, Run r, Path file) throws FuseboxException {
        if (!r.weightShape.equals(Shape.of(d.out(), d.in()))) {
            throw new FuseboxException(Problem.RAGGED_SHAPES, file, r.weight.orElseThrow(), "it is " + r.weightShape
                    + ", but the adapter's LoRA for it makes [" + d.out() + ", " + d.in() + "]");
        }
        // DoRA normalises whole rows (an embedding's, whole columns): its segment must hold them.
        boolean whole = d.embedding() ? r.weightFrom == 0 && r.count == d.out() * d.in()
                : r.weightFrom % d.in() == 0 && r.count % d.in() == 0;
        if (d.magnitude().isPresent() && !whole) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, r.weight.orElseThrow(), "the rules place it in "
                    + "pieces that cut its " + (d.embedding() ? "columns" : "rows") + ", and DoRA's merge needs the "
                    + "norm of each whole " + (d.embedding() ? "column" : "row"));
        }
    }

    private static void checkReplacement(TensorSpec replacement, Run r, PlannedTarget t, Path file)
            throws FuseboxException {
        if (!replacement.shape().equals(r.weightShape) || (!replacement.dtype().decodable()
                && replacement.dtype() != t.dtype())) {
            throw new FuseboxException(Problem.RAGGED_SHAPES, file, replacement.key(), "the adapter saves it as "
                    + replacement.dtype().name() + " " + replacement.shape() + ", which does not fit the base's "
                    + r.weight.orElseThrow());
        }
    }
}
