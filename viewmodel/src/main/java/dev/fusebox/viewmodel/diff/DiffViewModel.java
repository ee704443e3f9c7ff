package dev.fusebox.viewmodel.diff;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.text.Sizes;
import dev.fusebox.converter.convert.CheckpointDiff;
import dev.fusebox.converter.convert.DiffReport;
import dev.fusebox.converter.convert.DiffSummary;
import dev.fusebox.converter.lora.AdapterAgainstBase;
import dev.fusebox.converter.lora.AdapterDeltaNorms;
import dev.fusebox.converter.lora.AdapterPlanner;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.viewmodel.browse.PlanLinks;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TensorLinks;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.browse.TreeRows;
import dev.fusebox.viewmodel.host.Dialogs;
import dev.fusebox.viewmodel.host.RulesSource;
import dev.fusebox.viewmodel.task.Job;
import dev.fusebox.viewmodel.task.TaskRunner;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.DoubleSummaryStatistics;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The diff screen: checkpoint A (what is open) against checkpoint B (chosen or dropped), as layouts and aware of
 * the legacy ↔ v5 mapping, so a checkpoint and its faithful conversion compare equal. Value differences are read
 * on demand, in the background, since they read every byte of both.
 */
public final class DiffViewModel {

    private static final String PROMPT =
            "Compare what is open with another checkpoint: Compare With…, or drop it here.";

    private final Dialogs dialogs;
    private final RulesSource rules;
    private final Supplier<Path> openNow;
    private final Job job;
    private final ReadOnlyObjectWrapper<Path> a = new ReadOnlyObjectWrapper<>(this, "a");
    private final ReadOnlyObjectWrapper<Path> b = new ReadOnlyObjectWrapper<>(this, "b");
    private final ReadOnlyObjectWrapper<DiffReport> report = new ReadOnlyObjectWrapper<>(this, "report");
    private final ReadOnlyStringWrapper summary = new ReadOnlyStringWrapper(this, "summary", PROMPT);
    private final ObservableList<DiffRow> rows = FXCollections.observableArrayList();
    private final ObservableList<DiffRow> rowsView = FXCollections.unmodifiableObservableList(rows);
    private final BooleanBinding canCompareValues;
    private final ReadOnlyObjectWrapper<DiffTrees> trees = new ReadOnlyObjectWrapper<>(this, "trees");
    private final BooleanProperty onlyDifferences = new SimpleBooleanProperty(this, "onlyDifferences", false);
    private final ObservableList<DiffNode> selection = FXCollections.observableArrayList();
    private final ObservableList<DiffNode> selectionView = FXCollections.unmodifiableObservableList(selection);
    private final ObservableList<DiffLink> links = FXCollections.observableArrayList();
    private final ObservableList<DiffLink> linksView = FXCollections.unmodifiableObservableList(links);
    private final ObservableList<DiffSummary.Cell> cells = FXCollections.observableArrayList();
    private final ObservableList<DiffSummary.Cell> cellsView = FXCollections.unmodifiableObservableList(cells);
    private final ObservableList<AdapterDeltaNorms.ModuleDelta> adapterDeltas = FXCollections.observableArrayList();
    private final ObservableList<AdapterDeltaNorms.ModuleDelta> adapterDeltasView =
            FXCollections.unmodifiableObservableList(adapterDeltas);

    /** @param openNow where the checkpoint open in the window is (null when none), A by default */
    public DiffViewModel(TaskRunner runner, Dialogs dialogs, RulesSource rules, Supplier<Path> openNow) {
        this.dialogs = dialogs;
        this.rules = rules;
        this.openNow = openNow;
        this.job = new Job(runner);
        this.canCompareValues = report.isNotNull().and(job.busyProperty().not());
    }

    /** Compare With…: asks for B, a file or a folder, and compares what is open with it. */
    public void compareWith() {
        Path open = openNow.get();
        if (open == null) {
            return;
        }
        dialogs.chooseCheckpoint("Compare with: a weights or index file, or a folder's config.json")
                .ifPresent(other -> compare(open, checkpointOf(other)));
    }

    /** A weights or index file is B itself; any other file chosen (config.json) stands for its folder. */
    private static Path checkpointOf(Path chosen) {
        String name = chosen.getFileName() == null ? "" : chosen.getFileName().toString();
        boolean weights = name.endsWith(".safetensors") || name.endsWith(".bin") || name.endsWith(".index.json");
        return Files.isRegularFile(chosen) && !weights && chosen.getParent() != null ? chosen.getParent() : chosen;
    }

    /** Compares what is open with {@code other} (dropped on the screen). */
    public void compareWithDropped(List<Path> dropped) {
        Path open = openNow.get();
        if (open != null && !dropped.isEmpty()) {
            compare(open, dropped.getFirst());
        } else if (dropped.size() >= 2) {
            compare(dropped.get(0), dropped.get(1));
        }
    }

    /** Compares layouts (not values) of {@code first} and {@code second}. */
    public void compare(Path first, Path second) {
        compare(first, second, false);
    }

    /** Compares the values of every tensor the two share, after mapping. */
    public void compareValues() {
        if (a.get() != null && b.get() != null) {
            compare(a.get(), b.get(), true);
        }
    }

    /**
     * Compares {@code first} with {@code second}, their values too when {@code values}. Comparing the values of
     * the pair on screen keeps its layout report shown until the values are in, so a cancel leaves it usable.
     */
    public void compare(Path first, Path second, boolean values) {
        boolean samePair = first.equals(a.get()) && second.equals(b.get()) && report.get() != null;
        a.set(first);
        b.set(second);
        if (!(values && samePair)) {
            report.set(null);
            rows.clear();
            trees.set(null);
            select(null);
            cells.clear();
            adapterDeltas.clear();
            summary.set("");
        }
        job.start((values ? "Comparing the values of " : "Comparing ") + name(first) + " with " + name(second),
                (progress, cancel) -> {
                    RuleBook book = rules.load();
                    try (Checkpoint ca = Checkpoint.open(first, book); Checkpoint cb = Checkpoint.open(second, book)) {
                        DiffReport r = CheckpointDiff.compare(ca, cb, values, progress, cancel);
                        return new Compared(r, trees(r, ca, cb), AdapterAgainstBase.of(ca, cb, book, values));
                    }
                }, this::show, summary::set);
    }

    /** A report, the trees it colours, and for an adapter against its base what the adapter changes. */
    private record Compared(DiffReport report, DiffTrees trees, Optional<AdapterAgainstBase> adapter) {
    }

    /**
     * A's and B's module trees, coloured by {@code r}. Where B was read in A's layout, the plan that read it (made
     * again as the diff made it) says which of A's tensors each of B's becomes.
     */
    private static DiffTrees trees(DiffReport r, Checkpoint a, Checkpoint b) {
        Side aSide = Side.of(a.layout());
        Side bSide = Side.of(b.layout());
        boolean mapped = r.mapping().filter(m -> m.startsWith("B read")).isPresent();
        TensorLinks links = TensorLinks.NONE;
        if (mapped && aSide != bSide) {
            try {
                ConversionPlan plan = b.kind() == CheckpointKind.ADAPTER
                        ? AdapterPlanner.plan(b, b.baseModelDirectory().or(a::baseModelDirectory), b.ruleBook(),
                                Optional.of(a.layout()), Optional.empty()).plan()
                        : Planner.plan(b, b.ruleBook(), Optional.of(a.layout()));
                links = new PlanLinks(List.of(new PlanLinks.Entry(plan, bSide)));
            } catch (FuseboxException e) {
                // The diff planned it a moment ago; should the files have changed since, B's rows say they were
                // not read in A's layout rather than claim a match.
                links = TensorLinks.NONE;
            }
        }
        return DiffTrees.of(r, rows(a, aSide), rows(b, bSide), links, bSide, mapped && aSide != bSide);
    }

    private static TreeRow rows(Checkpoint c, Side side) {
        boolean adapter = c.kind() == CheckpointKind.ADAPTER;
        return TreeRows.build(side, c.modelType(), c.modelConfig(), adapter ? List.of() : c.specs(),
                adapter ? c.specs() : List.of(), Map.of());
    }

    /** Forgets A, B and their comparison: what is open changed, or was closed. */
    public void reset() {
        job.reset();
        a.set(null);
        b.set(null);
        report.set(null);
        rows.clear();
        trees.set(null);
        select(null);
        cells.clear();
        adapterDeltas.clear();
        summary.set(PROMPT);
    }

    /** Selects {@code node} (null clears) and the nodes of the other tree it matches. */
    public void select(DiffNode node) {
        if (node == null) {
            links.clear();
            selection.clear();
            return;
        }
        DiffTrees t = trees.get();
        if (t == null) {
            return;
        }
        List<DiffNode> out = new ArrayList<>();
        out.add(node);
        Set<String> names = new LinkedHashSet<>();
        node.leaves().forEach(l -> names.addAll(l.matches()));
        List<DiffNode> found = matching(node.inA() ? t.b() : t.a(), names);
        // A module's counterparts, when many, are the smallest module that holds them all.
        List<DiffNode> counterparts = node.kind() == DiffNode.Kind.MODULE && found.size() > MOST_MATCHES
                ? List.of(commonAncestor(found)) : found;
        out.addAll(counterparts);
        links.setAll(counterparts.stream().map(c -> node.inA() ? new DiffLink(node, c) : new DiffLink(c, node))
                .toList());
        selection.setAll(out);
    }

    /** Selects, in both trees, the tensors and parts that make up {@code cell} of the per-layer chart. */
    public void selectCell(DiffSummary.Cell cell) {
        DiffTrees t = trees.get();
        if (t == null) {
            return;
        }
        List<DiffNode> out = new ArrayList<>();
        for (DiffNode root : List.of(t.a(), t.b())) {
            for (DiffNode leaf : root.leaves()) {
                boolean partsCount = leaf.children().isEmpty();
                if (partsCount && DiffSummary.inCell(leaf.key(), cell)) {
                    out.add(leaf);
                }
            }
        }
        // Each of the cell's rows in A linked to the rows of B's that stand for the same tensors.
        List<DiffLink> found = new ArrayList<>();
        for (DiffNode inA : out.stream().filter(DiffNode::inA).toList()) {
            for (DiffNode inB : out.stream().filter(n -> !n.inA()).toList()) {
                if (inB.matches().stream().anyMatch(inA.matches()::contains)) {
                    found.add(new DiffLink(inA, inB));
                }
            }
        }
        links.setAll(found);
        selection.setAll(out);
    }

    /** Above this many, a module's counterparts are shown as the module holding them. */
    static final int MOST_MATCHES = 4;

    /** The tensors and parts below {@code root} that stand for any of {@code names}; a part before its tensor. */
    private static List<DiffNode> matching(DiffNode root, Set<String> names) {
        List<DiffNode> out = new ArrayList<>(root.leaves().stream()
                .filter(leaf -> leaf.matches().stream().anyMatch(names::contains)).toList());
        // A tensor whose parts matched is shown by those parts.
        out.removeIf(n -> n.kind() == DiffNode.Kind.TENSOR && out.stream().anyMatch(o -> o != n && n.contains(o)));
        return out;
    }

    private static DiffNode commonAncestor(List<DiffNode> nodes) {
        DiffNode candidate = nodes.getFirst();
        while (candidate.parent().isPresent()) {
            DiffNode c = candidate;
            if (c.kind() == DiffNode.Kind.MODULE && nodes.stream().allMatch(c::contains)) {
                return c;
            }
            candidate = candidate.parent().get();
        }
        return candidate;
    }

    private void show(Compared compared) {
        DiffReport r = compared.report();
        select(null);
        trees.set(compared.trees());
        cells.setAll(DiffSummary.layers(r));
        adapterDeltas.setAll(compared.adapter().map(AdapterAgainstBase::modules).orElse(List.of()));
        report.set(r);
        List<DiffRow> out = new ArrayList<>();
        r.onlyInA().forEach(t -> out.add(new DiffRow(DiffRow.Kind.ONLY_IN_A, t.key(), spec(t), "")));
        r.onlyInB().forEach(t -> out.add(new DiffRow(DiffRow.Kind.ONLY_IN_B, t.spec().key(), "",
                spec(t.spec()) + (t.from().size() == 1 && t.from().getFirst().equals(t.spec().key()) ? ""
                        : " from " + from(t.from())))));
        r.changed().forEach(c -> out.add(new DiffRow(DiffRow.Kind.CHANGED, c.key(), spec(c.a()), spec(c.b()))));
        r.values().ifPresent(vs -> vs.stream().filter(v -> !v.identical()).forEach(v -> out.add(new DiffRow(
                DiffRow.Kind.VALUES, v.key(), value(v, v.aValue()), value(v, v.bValue()),
                Sizes.count(v.differingElements())
                        + (v.differingElements() == 1 ? " element differs" : " elements differ")
                        + (Double.isNaN(v.maxAbsDiff()) ? "" : ", by at most " + number(v.maxAbsDiff()))))));
        rows.setAll(out);
        boolean sameLayout = r.onlyInA().isEmpty() && r.onlyInB().isEmpty() && r.changed().isEmpty();
        StringBuilder s = new StringBuilder(sameLayout ? "Same layout" : "Different layout");
        r.values().ifPresent(vs -> {
            boolean sameValues = vs.stream().allMatch(DiffReport.ValueDiff::identical);
            s.append(sameLayout == sameValues ? " and values" : sameValues ? ", same values" : ", different values");
        });
        s.append(": ").append(Sizes.count(r.same())).append(" tensors agree, ")
                .append(Sizes.count(r.onlyInA().size())).append(" only in A, ")
                .append(Sizes.count(r.onlyInB().size())).append(" only in B, ")
                .append(Sizes.count(r.changed().size())).append(" changed");
        r.values().ifPresent(vs -> s.append(", ").append(Sizes.count(vs.stream().filter(v -> !v.identical()).count()))
                .append(" with other values"));
        r.mapping().ifPresent(m -> s.append(" · ").append(m));
        compared.adapter().ifPresent(d -> s.append(" · ").append(adapterSummary(d)));
        summary.set(s.toString());
    }

    /** "the adapter changes 32 weights of A, ‖scale·B@A‖ 1.76 to 8.60", or why it does not fit. */
    private static String adapterSummary(AdapterAgainstBase d) {
        if (d.refused().isPresent()) {
            return "the adapter's deltas on " + d.base() + " were not computed: " + d.refused().get();
        }
        DoubleSummaryStatistics norms = d.modules().stream().mapToDouble(AdapterDeltaNorms.ModuleDelta::norm)
                .summaryStatistics();
        return "the adapter changes " + Sizes.count(d.modules().size()) + (d.modules().size() == 1 ? " weight" : " weights")
                + " of " + d.base() + (d.modules().isEmpty() ? "" : ", ‖scale·B@A‖ " + number(norms.getMin()) + " to "
                + number(norms.getMax()));
    }

    /** One side's value where {@code v} differs most: "0.0123457 at [1, 7, 3]"; for a dtype not decoded, where. */
    private static String value(DiffReport.ValueDiff v, double side) {
        return (Double.isNaN(v.maxAbsDiff()) ? "differs" : number(side)) + " at " + v.at();
    }

    private static String number(double v) {
        return String.format(Locale.ROOT, "%.6g", v);
    }

    private static String spec(TensorSpec t) {
        return t.shape() + " " + t.dtype().name();
    }

    private static String from(List<String> keys) {
        return keys.size() == 1 ? keys.getFirst() : keys.getFirst() + " + " + (keys.size() - 1) + " more";
    }

    private static String name(Path p) {
        return p.getFileName() == null ? p.toString() : p.getFileName().toString();
    }

    public Job job() {
        return job;
    }

    public ReadOnlyObjectProperty<Path> aProperty() {
        return a.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Path> bProperty() {
        return b.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<DiffReport> reportProperty() {
        return report.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty summaryProperty() {
        return summary.getReadOnlyProperty();
    }

    /** For an adapter against its base: each weight the adapter changes, with ‖scale·B@A‖_F; else empty. */
    public ObservableList<AdapterDeltaNorms.ModuleDelta> adapterDeltas() {
        return adapterDeltasView;
    }

    /** The differences; tensors that agree are counted in the summary, not listed. */
    public ObservableList<DiffRow> rows() {
        return rowsView;
    }

    /** A's and B's trees, coloured by the comparison; null until one is made. */
    public ReadOnlyObjectProperty<DiffTrees> treesProperty() {
        return trees.getReadOnlyProperty();
    }

    /** Whether the trees show only the rows where something differs. */
    public BooleanProperty onlyDifferencesProperty() {
        return onlyDifferences;
    }

    /** The children of {@code node} the trees show: all of them, or only those that differ. */
    public List<DiffNode> shownChildren(DiffNode node) {
        return onlyDifferences.get() ? node.children().stream().filter(DiffNode::differs).toList() : node.children();
    }

    /** The rows selected in either tree: the one chosen and its counterparts, or the rows of a chart cell. */
    public ObservableList<DiffNode> selection() {
        return selectionView;
    }

    /**
     * The lines drawn between the trees: from the row chosen to each of its counterparts, or from a chart cell's rows
     * in A to those in B that stand for the same tensors.
     */
    public ObservableList<DiffLink> links() {
        return linksView;
    }

    /** The per-layer chart's cells, empty until values are compared. */
    public ObservableList<DiffSummary.Cell> cells() {
        return cellsView;
    }

    public BooleanBinding canCompareValuesProperty() {
        return canCompareValues;
    }
}
