package dev.fusebox.viewmodel.verify;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.convert.TemporaryConversion;
import dev.fusebox.converter.forward.VerificationReport;
import dev.fusebox.converter.forward.VerificationRequest;
import dev.fusebox.converter.forward.Verifier;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.viewmodel.main.Analysis;
import dev.fusebox.viewmodel.task.Job;
import dev.fusebox.viewmodel.task.TaskRunner;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.binding.StringBinding;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The verify screen: runs the sample forward pass on what is open and on its conversion, and shows pass or fail,
 * the difference after every layer and, per position, both sides' five best tokens. The conversion is the one
 * Convert wrote, or, before anything was written, one made for the purpose in a temporary folder (the model's and
 * the adapter's, with the model as its base) and removed afterwards. With what Convert wrote, an adapter joins both
 * sides when Convert wrote its conversion too.
 */
public final class VerifyViewModel {

    /**
     * One row of the per-position table.
     *
     * @param sourceTop5 the source side's five best tokens, best first ("201 158 210 43 87")
     * @param sourceLogits the same with their logits ("201 (3.09), 158 (2.41), ...")
     */
    public record PositionRow(int position, int token, double maxAbsDiff, boolean top1Agrees, String sourceTop5,
                              String convertedTop5, String sourceLogits, String convertedLogits) {
    }

    private static final int PHASE = 1000;

    private final Job job;
    private final ReadOnlyObjectWrapper<Analysis> analysis = new ReadOnlyObjectWrapper<>(this, "analysis");
    private final ReadOnlyObjectWrapper<VerificationReport> report = new ReadOnlyObjectWrapper<>(this, "report");
    private final ReadOnlyObjectWrapper<Boolean> passed = new ReadOnlyObjectWrapper<>(this, "passed");
    private final ReadOnlyStringWrapper verdict = new ReadOnlyStringWrapper(this, "verdict", "");
    private final ReadOnlyStringWrapper details = new ReadOnlyStringWrapper(this, "details", "");
    private final ReadOnlyStringWrapper against = new ReadOnlyStringWrapper(this, "against", "");
    private final ObservableList<VerificationReport.LayerComparison> layers = FXCollections.observableArrayList();
    private final ObservableList<PositionRow> positions = FXCollections.observableArrayList();
    private final ObservableList<VerificationReport.LayerComparison> layersView =
            FXCollections.unmodifiableObservableList(layers);
    private final ObservableList<PositionRow> positionsView = FXCollections.unmodifiableObservableList(positions);
    private final BooleanBinding canVerify;
    private final ReadOnlyObjectWrapper<List<Path>> converted = new ReadOnlyObjectWrapper<>(this, "converted");
    private final StringBinding using = Bindings.createStringBinding(this::describeUsing, analysis, converted);

    public VerifyViewModel(TaskRunner runner) {
        this.job = new Job(runner);
        this.canVerify = Bindings.createBooleanBinding(
                () -> analysis.get() != null && analysis.get().modelPlan().isPresent(), analysis)
                .and(job.busyProperty().not());
    }

    /** Takes what is open now; forgets the last report and conversion. */
    public void show(Analysis a) {
        job.reset();
        analysis.set(a);
        converted.set(null);
        clear();
        against.set(a == null || a.modelPlan().isEmpty() ? ""
                : "Verify runs " + a.workspace().displayName() + " and " + (a.workspace().adapter() == null ? "its"
                : "their") + " conversion to " + a.modelPlan().get().to().jsonName()
                + " on the same tokens and compares every layer and the logits.");
    }

    private void clear() {
        report.set(null);
        passed.set(null);
        verdict.set("");
        details.set("");
        layers.clear();
        positions.clear();
    }

    /** What Convert wrote (model first, then adapter), to verify against instead of a conversion of our own. */
    public void useConverted(List<Path> outputs) {
        converted.set(outputs.isEmpty() ? null : List.copyOf(outputs));
    }

    /** Verify: against what Convert wrote, or a conversion made for the purpose. */
    public void verify() {
        Analysis a = analysis.get();
        if (a == null || a.modelPlan().isEmpty()) {
            return;
        }
        Checkpoint model = a.workspace().model();
        Optional<Checkpoint> adapter = a.workspace().adapterCheckpoint();
        List<Path> written = converted.get();
        clear();
        job.start("Verifying " + a.workspace().displayName(), (progress, cancel) -> {
            if (written != null) {
                Optional<Path> writtenAdapter = written.size() > 1 ? Optional.of(written.get(1)) : Optional.empty();
                // A converted model alone is compared with the source model alone.
                return run(model.location(), writtenAdapter.isPresent() ? adapter : Optional.empty(),
                        written.getFirst(), writtenAdapter, progress, cancel, 0);
            }
            try (TemporaryConversion t = TemporaryConversion.write(TemporaryConversion.systemTemporaryFolder(), model,
                    adapter, p -> progress.onProgress(new Progress(0, 0, (int) (PHASE * Math.max(0, p.fraction())),
                            2 * PHASE, p.current())), cancel)) {
                return run(model.location(), adapter, t.model(), t.adapter(), progress, cancel, PHASE);
            }
        }, this::show, failure -> verdict.set("Could not verify: " + failure));
    }

    /** Runs both sides, reporting the pass's progress after {@code before} of the work's steps. */
    private static VerificationReport run(Path model, Optional<Checkpoint> adapter, Path convertedModel,
                                          Optional<Path> convertedAdapter, ProgressListener progress,
                                          Cancellation cancel, int before) throws Exception {
        VerificationRequest request = VerificationRequest.of(model, adapter.map(Checkpoint::location),
                convertedModel, convertedAdapter);
        int total = before + PHASE;
        return new Verifier().verify(request, p -> progress.onProgress(new Progress(0, 0,
                before + (p.itemsTotal() == 0 ? 0 : PHASE * p.itemsDone() / p.itemsTotal()), total,
                p.current())), cancel);
    }

    private void show(VerificationReport r) {
        report.set(r);
        passed.set(r.passed());
        verdict.set(r.passed()
                ? "Passed: the conversion computes the same function (largest logit difference "
                + number(r.maxAbsDiff()) + ", tolerance " + number(r.tolerance()) + ")."
                : "Failed: " + r.failures().getFirst() + ".");
        details.set(r.tokens().size() + " tokens through " + r.layersRun() + " of " + r.layersTotal()
                + " layers · top-1 agrees at " + r.top1Agreement() + " of " + r.tokens().size() + " positions · "
                + "routers agree on " + r.routerAgreement() + " of " + r.routerDecisions() + " choices · source "
                + r.source().layout().jsonName() + " " + r.source().dtype().name() + ", converted "
                + r.converted().layout().jsonName() + " " + r.converted().dtype().name()
                + (r.converted().adapter().isPresent() ? " · the adapter applied on both sides" : ""));
        layers.setAll(r.layers());
        positions.setAll(r.positions().stream().map(p -> new PositionRow(p.position(), p.token(), p.maxAbsDiff(),
                p.top1Agrees(), tokens(p.sourceTop5()), tokens(p.convertedTop5()), logits(p.sourceTop5()),
                logits(p.convertedTop5()))).toList());
    }

    private static String tokens(List<VerificationReport.TokenLogit> tokens) {
        return tokens.stream().map(t -> Integer.toString(t.token())).collect(Collectors.joining(" "));
    }

    private static String logits(List<VerificationReport.TokenLogit> tokens) {
        return tokens.stream().map(t -> t.token() + String.format(Locale.ROOT, " (%.4f)", t.logit()))
                .collect(Collectors.joining(", "));
    }

    static String number(double v) {
        return v == 0 ? "0" : String.format(Locale.ROOT, "%.2e", v);
    }

    public Job job() {
        return job;
    }

    public BooleanBinding canVerifyProperty() {
        return canVerify;
    }

    public ReadOnlyObjectProperty<VerificationReport> reportProperty() {
        return report.getReadOnlyProperty();
    }

    /** True or false once a verification ran; null before. */
    public ReadOnlyObjectProperty<Boolean> passedProperty() {
        return passed.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty verdictProperty() {
        return verdict.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty detailsProperty() {
        return details.getReadOnlyProperty();
    }

    /** What Verify will compare, in words. */
    public ReadOnlyStringProperty againstProperty() {
        return against.getReadOnlyProperty();
    }

    /** What Verify compares with: what Convert wrote, else a conversion it makes (the adapter's too when open). */
    public StringBinding usingProperty() {
        return using;
    }

    private String describeUsing() {
        List<Path> written = converted.get();
        if (written != null) {
            return "against " + String.join(" + ", written.stream().map(p -> p.getFileName().toString()).toList());
        }
        Analysis a = analysis.get();
        if (a == null || a.modelPlan().isEmpty()) {
            return "";
        }
        return "converts " + (a.workspace().adapter() == null ? "" : "(the adapter too) ")
                + "to a temporary folder first, then compares; nothing is kept";
    }

    /** The conversion Verify uses instead of making its own, when Convert wrote one. */
    public ReadOnlyObjectProperty<List<Path>> convertedProperty() {
        return converted.getReadOnlyProperty();
    }

    public ObservableList<VerificationReport.LayerComparison> layers() {
        return layersView;
    }

    public ObservableList<PositionRow> positions() {
        return positionsView;
    }
}
