package dev.fusebox.viewmodel.detail;

import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.cli.Sizes;
import dev.fusebox.converter.safetensors.Shape;
import dev.fusebox.converter.safetensors.TensorSpec;
import dev.fusebox.converter.tensor.TensorStatistics;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.task.Job;
import dev.fusebox.viewmodel.task.TaskRunner;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyIntegerProperty;
import javafx.beans.property.ReadOnlyIntegerWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The tensor detail pane: what the selected row is (dtype, shape, bytes, file and offset) and, on demand and in
 * the background, its statistics, histogram and a heat map of one 2-D slice (for a rank-3 tensor such as a fused
 * {@code gate_up_proj}, the slice of one expert, chosen with {@link #sliceIndexProperty()}).
 */
public final class TensorDetailViewModel {

    /** One line of facts: "Shape", "[4, 192, 64]". */
    public record Fact(String name, String value) {
    }

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
    private final Job job;
    private final BooleanBinding canComputeStatistics;

    public TensorDetailViewModel(TaskRunner runner) {
        this.job = new Job(runner);
        this.canComputeStatistics = statisticsAvailable.and(job.busyProperty().not());
        row.addListener((obs, old, now) -> describe(now));
        sliceIndex.addListener((obs, old, now) -> {
            if (statistics.get() != null) {
                computeStatistics();
            }
        });
        describe(null);
    }

    private void describe(TreeRow r) {
        job.cancel();
        statistics.set(null);
        statisticsFacts.clear();
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
        facts.setAll(out);
        boolean decodable = spec.dtype().decodable();
        statisticsAvailable.set(r.stored().isPresent() && decodable);
        statisticsNote.set(r.stored().isEmpty() ? "Statistics need the tensor's bytes; convert first, then open the output."
                : !decodable ? spec.dtype().torchName() + " tensors have no float statistics."
                : "Statistics read every value in the background.");
        int count = shape.rank() >= 3 ? (int) Math.min(Integer.MAX_VALUE, shape.dim(0)) : 0;
        sliceIndex.set(0);
        sliceCount.set(count);
    }

    /** Reads the selected tensor's values in the background and shows what they look like. */
    public void computeStatistics() {
        TreeRow r = row.get();
        if (r == null || r.stored().isEmpty() || !statisticsAvailable.get()) {
            return;
        }
        StoredTensor t = r.stored().get();
        long[] leading = sliceCount.get() > 0 ? new long[] {sliceIndex.get()} : new long[0];
        job.start("Statistics of " + t.key(), (progress, cancel) -> TensorStatistics.compute(t::data, t.dtype(),
                        t.shape(), leading, TensorStatistics.Settings.DEFAULT, progress, cancel),
                this::show, failure -> statisticsNote.set(failure));
    }

    private void show(TensorStatistics s) {
        statistics.set(s);
        statisticsFacts.setAll(
                new Fact("Min", number(s.min())),
                new Fact("Max", number(s.max())),
                new Fact("Mean", number(s.mean())),
                new Fact("Std", number(s.std())),
                new Fact("NaN / ±inf", Sizes.count(s.nanCount()) + " / " + Sizes.count(s.infCount())));
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

    public Job job() {
        return job;
    }
}
