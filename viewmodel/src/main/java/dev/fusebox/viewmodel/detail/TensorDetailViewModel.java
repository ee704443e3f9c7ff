package dev.fusebox.viewmodel.detail;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.text.Sizes;
import dev.fusebox.converter.convert.PlannedTensors;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.BlockScaledFp8;
import dev.fusebox.converter.tensor.ByteRanges;
import dev.fusebox.converter.tensor.TensorStatistics;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.task.Job;
import dev.fusebox.viewmodel.task.TaskRunner;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyIntegerProperty;
import javafx.beans.property.ReadOnlyIntegerWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The tensor detail pane: what the selected row is (dtype, shape, bytes, file and offset) and, on demand and in
 * the background, its statistics, histogram and a heat map of one 2-D slice (for a rank-3 tensor such as a fused
 * {@code gate_up_proj}, the slice of one expert, chosen with {@link #sliceIndexProperty()}, or every slice stacked).
 * A tensor that only a conversion would write (the v5 pane of an open legacy checkpoint) has statistics too: its
 * values are read from its sources through the plan, as Convert would write them, without writing anything. The
 * heat map knows where a fused tensor's parts lie (w1 | w3 of each expert) and what the cell under the pointer is.
 */
public final class TensorDetailViewModel {

    /** One line of facts: "Shape", "[4, 192, 64]". */
    public record Fact(String name, String value) {
    }

    /** The heat map's colour scale: its ends (symmetric around zero) as text. */
    public record Legend(String low, String high) {
    }

    /** Above this, a tensor a computation writes (not a copy) is not made whole in memory to be looked at. */
    private static final long MAX_COMPUTED_BYTES = 1L << 30;

    private final ObjectProperty<TreeRow> row = new SimpleObjectProperty<>(this, "row");
    private final ReadOnlyStringWrapper title = new ReadOnlyStringWrapper(this, "title", "");
    private final ObservableList<Fact> facts = FXCollections.observableArrayList();
    private final ReadOnlyBooleanWrapper statisticsAvailable = new ReadOnlyBooleanWrapper(this, "statisticsAvailable");
    private final ReadOnlyStringWrapper statisticsNote = new ReadOnlyStringWrapper(this, "statisticsNote", "");
    private final ReadOnlyObjectWrapper<TensorStatistics> statistics = new ReadOnlyObjectWrapper<>(this, "statistics");
    private final ObservableList<Fact> statisticsFacts = FXCollections.observableArrayList();
    private final ObservableList<Fact> factsView = FXCollections.unmodifiableObservableList(facts);
    private final ObservableList<Fact> statisticsFactsView = FXCollections.unmodifiableObservableList(statisticsFacts);
    private final IntegerProperty sliceIndex = new SimpleIntegerProperty(this, "sliceIndex");
    private final ReadOnlyIntegerWrapper sliceCount = new ReadOnlyIntegerWrapper(this, "sliceCount");
    private final BooleanProperty wholeTensor = new SimpleBooleanProperty(this, "wholeTensor");
    private final ReadOnlyObjectWrapper<HeatMapLayout> layout = new ReadOnlyObjectWrapper<>(this, "layout");
    private final ReadOnlyObjectWrapper<Legend> legend = new ReadOnlyObjectWrapper<>(this, "legend");
    private final ReadOnlyStringWrapper hover = new ReadOnlyStringWrapper(this, "hover", "");
    private List<ThroughPlan> plans = List.of();
    private final Job job;
    private final BooleanBinding canComputeStatistics;

    public TensorDetailViewModel(TaskRunner runner) {
        this.job = new Job(runner);
        this.canComputeStatistics = statisticsAvailable.and(job.busyProperty().not());
        row.addListener((obs, old, now) -> describe(now));
        sliceIndex.addListener((obs, old, now) -> {
            if (statistics.get() != null && !wholeTensor.get()) {
                computeStatistics();
            }
        });
        wholeTensor.addListener((obs, old, now) -> {
            if (statistics.get() != null) {
                computeStatistics();
            }
        });
        describe(null);
    }

    /**
     * The conversions of what is open, to read the tensors they would write through (none when nothing is open);
     * the main view model sets them with each workspace.
     */
    public void usePlans(List<ThroughPlan> plans) {
        this.plans = List.copyOf(plans);
        describe(row.get());
    }

    /** The plan that would write the row's tensor, when it is not in an open file and the plan can be read through. */
    private Optional<ThroughPlan> planFor(TreeRow r) {
        if (r == null || !r.isTensor() || r.stored().isPresent()) {
            return Optional.empty();
        }
        return plans.stream().filter(p -> p.targetSide() == r.side() && p.plan().target(r.path()).isPresent())
                .findFirst();
    }

    private void describe(TreeRow r) {
        job.cancel();
        statistics.set(null);
        statisticsFacts.clear();
        layout.set(null);
        legend.set(null);
        hover.set("");
        List<Fact> out = new ArrayList<>();
        if (r == null) {
            title.set("");
            facts.clear();
            statisticsAvailable.set(false);
            statisticsNote.set("Select a tensor to see its values.");
            sliceCount.set(0);
            return;
        }
        title.set(r.isTensor() ? r.path() : r.path().isEmpty() ? r.name() : r.path());
        if (!r.isTensor()) {
            out.add(new Fact("Module", r.type()));
            out.add(new Fact("Tensors", Sizes.count(r.tensors().size())));
            out.add(new Fact("Bytes", Sizes.bytes(r.bytes())));
            facts.setAll(out);
            statisticsAvailable.set(false);
            statisticsNote.set("Statistics are per tensor; select one.");
            sliceCount.set(0);
            return;
        }
        TensorSpec spec = r.spec().orElseThrow();
        Shape shape = spec.shape();
        out.add(new Fact("Kind", r.kind() == TreeRow.Kind.ADAPTER_TENSOR ? "LoRA tensor" : "Tensor"));
        out.add(new Fact("Dtype", spec.dtype().name() + " (" + spec.dtype().torchName() + ")"));
        out.add(new Fact("Shape", shape.toString()));
        out.add(new Fact("Elements", Sizes.count(shape.elementCount())));
        out.add(new Fact("Bytes", Sizes.bytes(r.bytes()) + " (" + Sizes.count(r.bytes()) + ")"));
        if (r.stored().isPresent()) {
            StoredTensor t = r.stored().get();
            out.add(new Fact("File", t.file().path().toString()));
            out.add(new Fact("Offset", Sizes.count(t.fileOffset())));
        } else {
            out.add(new Fact("File", "not written yet: Convert writes it"));
        }
        Optional<ThroughPlan> through = planFor(r);
        through.flatMap(p -> p.plan().target(r.path())).ifPresent(t -> out.add(new Fact("From",
                sourcesText(t))));
        facts.setAll(out);
        Optional<TreeRow> scale = Fp8Scales.of(r);
        Optional<String> unfit = scale.flatMap(s -> BlockScaledFp8.unfit(spec, s.spec().orElseThrow()));
        boolean decodable = spec.dtype().decodable() || (scale.isPresent() && unfit.isEmpty());
        boolean readable = r.stored().isPresent() ? scale.map(s -> s.stored().isPresent()).orElse(true)
                : through.filter(ThroughPlan::readable).isPresent()
                        && scale.map(s -> through.get().plan().target(s.path()).isPresent()).orElse(true);
        String dequantized = scale.map(s -> "Statistics are of the dequantized weight: each F8_E4M3 value times "
                + "its block's scale (" + s.name() + "), in float32, as transformers dequantizes it. ").orElse("");
        statisticsAvailable.set(readable && decodable);
        statisticsNote.set(unfit.isPresent() ? "No dequantized values: " + unfit.get() + "."
                : !decodable ? spec.dtype().torchName() + " tensors have no float statistics."
                : r.stored().isPresent() ? dequantized + "Statistics read every value in the background."
                : readable ? dequantized + "Statistics read its sources through the conversion's plan, as Convert "
                        + "would write it; nothing is written."
                : through.isPresent() ? "Statistics need the tensor's bytes: this conversion merges other "
                        + "checkpoints, so convert first, then open the output."
                : "Statistics need the tensor's bytes; convert first, then open the output.");
        int count = shape.rank() >= 3 ? (int) Math.min(Integer.MAX_VALUE, shape.dim(0)) : 0;
        sliceIndex.set(0);
        sliceCount.set(count);
    }

    /** "model.norm.weight" for one source; "8 tensors: 0.w1 … 3.w3" (what tells them apart) for several. */
    private static String sourcesText(PlannedTarget t) {
        List<String> keys = t.sources().stream().map(TensorSpec::key).toList();
        if (keys.size() == 1) {
            return keys.getFirst();
        }
        List<String> labels = Labels.distinct(keys);
        return Sizes.count(keys.size()) + " tensors: " + labels.getFirst() + (keys.size() > 2 ? " … " : ", ")
                + labels.getLast();
    }

    /** Reads the selected tensor's values in the background and shows what they look like. */
    public void computeStatistics() {
        TreeRow r = row.get();
        if (r == null || !statisticsAvailable.get()) {
            return;
        }
        TensorSpec spec = r.spec().orElseThrow();
        boolean whole = wholeTensor.get() && sliceCount.get() > 0;
        long[] leading = sliceCount.get() > 0 && !whole ? new long[] {sliceIndex.get()} : new long[0];
        List<TensorPart> parts = TensorParts.of(plans, r.side(), r.path());
        Optional<StoredTensor> stored = r.stored();
        Optional<ThroughPlan> through = planFor(r);
        Optional<TreeRow> scale = Fp8Scales.of(r);
        job.start("Statistics of " + spec.key(), (progress, cancel) -> {
            TensorStatistics s;
            Optional<String> of;
            if (stored.isPresent()) {
                ByteRanges data = stored.get()::data;
                Optional<BlockScaledFp8> values = scale.isEmpty() ? Optional.empty() : Optional.of(
                        BlockScaledFp8.of(spec.key(), data, spec, scale.get().spec().orElseThrow(),
                                scale.get().stored().orElseThrow().data()));
                s = statistics(data, values, spec, leading, whole, progress, cancel);
                of = values.map(v -> dequantizedText(scale.get(), v));
            } else {
                ConversionPlan plan = through.orElseThrow().plan();
                try (PlannedTensors planned = new PlannedTensors(through.get().source(), plan)) {
                    ByteRanges data = ranges(planned, plan.target(spec.key()).orElseThrow());
                    Optional<BlockScaledFp8> values = Optional.empty();
                    if (scale.isPresent()) {
                        PlannedTarget scaleTarget = plan.target(scale.get().path()).orElseThrow();
                        values = Optional.of(BlockScaledFp8.of(spec.key(), data, spec, scaleTarget.spec(),
                                planned.read(scaleTarget.key(), 0, scaleTarget.byteSize())));
                    }
                    s = statistics(data, values, spec, leading, whole, progress, cancel);
                    of = values.map(v -> dequantizedText(scale.get(), v));
                }
            }
            return new Computed(s, HeatMapLayout.of(s.heatMap(), spec.shape(), parts, leading, whole), of);
        }, this::show, failure -> statisticsNote.set(failure));
    }

    /**
     * Statistics and the heat map's layout, made together in the background, and what values they are of when not
     * the tensor's own ("dequantized: F8_E4M3 × weight_scale_inv, blocks [32, 16]").
     */
    private record Computed(TensorStatistics statistics, HeatMapLayout layout, Optional<String> of) {
    }

    private static String dequantizedText(TreeRow scale, BlockScaledFp8 values) {
        return "the dequantized weight: F8_E4M3 × " + scale.name() + ", blocks " + values.block();
    }

    /** The statistics of the tensor's own values, or of {@code dequantized} ones where an FP8 weight has them. */
    private static TensorStatistics statistics(ByteRanges data, Optional<BlockScaledFp8> dequantized,
                                               TensorSpec spec, long[] leading, boolean whole,
                                               ProgressListener progress, Cancellation cancel)
            throws FuseboxException {
        TensorStatistics.Settings settings = TensorStatistics.Settings.DEFAULT;
        if (dequantized.isPresent()) {
            return TensorStatistics.compute(dequantized.get(), spec.dtype().byteSize(), spec.shape(), leading,
                    whole, settings, progress, cancel);
        }
        return whole ? TensorStatistics.computeWhole(data, spec.dtype(), spec.shape(), settings, progress, cancel)
                : TensorStatistics.compute(data, spec.dtype(), spec.shape(), leading, settings, progress, cancel);
    }

    /**
     * A planned target's bytes: a copy read range by range from its sources; a computed one (an adapter's rebuilt
     * factors) made whole once, as the plan's reader makes it whole for every range asked.
     */
    private static ByteRanges ranges(PlannedTensors planned, PlannedTarget target) throws FuseboxException {
        if (target.recipe() instanceof ComputedRecipe) {
            if (target.byteSize() > MAX_COMPUTED_BYTES) {
                throw new FuseboxException(Problem.UNSUPPORTED, planned.location(), target.key(),
                        "is computed by the conversion and larger than " + Sizes.bytes(MAX_COMPUTED_BYTES)
                                + ": convert first, then open the output to see its values");
            }
            return ByteRanges.of(planned.read(target.key(), 0, target.byteSize()));
        }
        return (offset, length) -> planned.read(target.key(), offset, length);
    }

    private void show(Computed c) {
        TensorStatistics s = c.statistics();
        layout.set(c.layout());
        double scale = s.heatMap().maxAbs();
        legend.set(new Legend(number(-scale), number(scale)));
        statistics.set(s);
        List<Fact> out = new ArrayList<>();
        c.of().ifPresent(of -> out.add(new Fact("Of", of)));
        out.addAll(List.of(
                new Fact("Min", number(s.min())),
                new Fact("Max", number(s.max())),
                new Fact("Mean", number(s.mean())),
                new Fact("Std", number(s.std())),
                new Fact("NaN / ±inf", Sizes.count(s.nanCount()) + " / " + Sizes.count(s.infCount()))));
        statisticsFacts.setAll(out);
    }

    static String number(double v) {
        if (Double.isNaN(v)) {
            return "—";
        }
        double a = Math.abs(v);
        return a != 0 && (a < 1e-3 || a >= 1e5)
                ? String.format(Locale.ROOT, "%.4e", v) : String.format(Locale.ROOT, "%.6f", v);
    }

    /** The row to describe: the model screen binds its selection here. */
    public ObjectProperty<TreeRow> rowProperty() {
        return row;
    }

    public ReadOnlyStringProperty titleProperty() {
        return title.getReadOnlyProperty();
    }

    public ObservableList<Fact> facts() {
        return factsView;
    }

    public BooleanBinding canComputeStatisticsProperty() {
        return canComputeStatistics;
    }

    /** Why statistics are or are not available, or why they failed. */
    public ReadOnlyStringProperty statisticsNoteProperty() {
        return statisticsNote.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<TensorStatistics> statisticsProperty() {
        return statistics.getReadOnlyProperty();
    }

    public ObservableList<Fact> statisticsFacts() {
        return statisticsFactsView;
    }

    /** Which slice of dimension 0 the heat map shows, for tensors of rank 3 or more. */
    public IntegerProperty sliceIndexProperty() {
        return sliceIndex;
    }

    /** How many slices there are to choose from; 0 when the tensor has no slices to choose. */
    public ReadOnlyIntegerProperty sliceCountProperty() {
        return sliceCount.getReadOnlyProperty();
    }

    /** Whether the heat map shows every slice stacked (all experts of a fused tensor) instead of one. */
    public BooleanProperty wholeTensorProperty() {
        return wholeTensor;
    }

    /** Where the parts and slices of the heat map lie; null until statistics are shown. */
    public ReadOnlyObjectProperty<HeatMapLayout> layoutProperty() {
        return layout.getReadOnlyProperty();
    }

    /** The heat map's colour scale; null until statistics are shown. */
    public ReadOnlyObjectProperty<Legend> legendProperty() {
        return legend.getReadOnlyProperty();
    }

    /** What the heat map's cell under the pointer stands for, or empty. */
    public ReadOnlyStringProperty hoverProperty() {
        return hover.getReadOnlyProperty();
    }

    /** The pointer is over cell ({@code row}, {@code col}) of the heat map. */
    public void hover(int cellRow, int cellCol) {
        HeatMapLayout l = layout.get();
        hover.set(l == null ? "" : l.describe(cellRow, cellCol));
    }

    /** The pointer left the heat map. */
    public void clearHover() {
        hover.set("");
    }

    public Job job() {
        return job;
    }
}
