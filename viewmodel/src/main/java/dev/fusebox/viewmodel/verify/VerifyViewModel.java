package dev.fusebox.viewmodel.verify;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.forward.ExpertCheckResult;
import dev.fusebox.converter.forward.ModelDims;
import dev.fusebox.converter.forward.VerificationReport;
import dev.fusebox.converter.forward.VerificationRequest;
import dev.fusebox.converter.forward.Verifier;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.viewmodel.workspace.Analysis;
import dev.fusebox.viewmodel.task.Job;
import dev.fusebox.viewmodel.task.TaskRunner;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.binding.StringBinding;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Collectors;

/**
 * The verify screen: runs the expert check (every family) and, for Mixtral, the sample forward pass on what is open
 * and on its conversion, and shows which ran, pass or fail, each expert's difference, and for the forward pass the
 * difference after every layer and, per position, both sides' five best tokens. The conversion is the one Convert
 * wrote, or, before anything was written, the model read through its plan, written nowhere (an adapter is converted
 * into a temporary folder, with the model as its base, and removed afterwards). With what Convert wrote, an adapter
 * joins both sides when Convert wrote its conversion too, or the source side alone when Convert merged it into the
 * model. What it cannot check is refused before any work. Its options are the command line's: the token ids to run
 * ({@code --tokens}) and how many layers ({@code --layers}).
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

    private final Job job;
    private final ReadOnlyObjectWrapper<Analysis> analysis = new ReadOnlyObjectWrapper<>(this, "analysis");
    private final ReadOnlyObjectWrapper<VerificationReport> report = new ReadOnlyObjectWrapper<>(this, "report");
    private final ReadOnlyObjectWrapper<Boolean> passed = new ReadOnlyObjectWrapper<>(this, "passed");
    private final ReadOnlyStringWrapper verdict = new ReadOnlyStringWrapper(this, "verdict", "");
    private final ReadOnlyStringWrapper details = new ReadOnlyStringWrapper(this, "details", "");
    private final ReadOnlyStringWrapper checks = new ReadOnlyStringWrapper(this, "checks", "");
    private final ObservableList<ExpertCheckResult.ExpertComparison> expertRows = FXCollections.observableArrayList();
    private final ObservableList<ExpertCheckResult.ExpertComparison> expertRowsView =
            FXCollections.unmodifiableObservableList(expertRows);
    private final ReadOnlyStringWrapper against = new ReadOnlyStringWrapper(this, "against", "");
    private final ObservableList<VerificationReport.LayerComparison> layers = FXCollections.observableArrayList();
    private final ObservableList<PositionRow> positions = FXCollections.observableArrayList();
    private final ObservableList<VerificationReport.LayerComparison> layersView =
            FXCollections.unmodifiableObservableList(layers);
    private final ObservableList<PositionRow> positionsView = FXCollections.unmodifiableObservableList(positions);
    private final BooleanBinding canVerify;
    private final ReadOnlyObjectWrapper<List<Path>> converted = new ReadOnlyObjectWrapper<>(this, "converted");
    private boolean convertedHasAdapterMerged;
    private final StringProperty tokens = new SimpleStringProperty(this, "tokens", "");
    private final StringProperty layerCount = new SimpleStringProperty(this, "layerCount", "");
    private final StringBinding optionsProblem = Bindings.createStringBinding(this::optionsProblem, tokens,
            layerCount);
    private final StringBinding using = Bindings.createStringBinding(this::describeUsing, analysis, converted);

    public VerifyViewModel(TaskRunner runner) {
        this.job = new Job(runner);
        this.canVerify = Bindings.createBooleanBinding(
                () -> analysis.get() != null && analysis.get().modelPlan().isPresent() && refusal(analysis.get())
                        .isEmpty(), analysis).and(job.busyProperty().not()).and(optionsProblem.isEmpty());
    }

    /** Takes what is open now; forgets the last report and conversion. */
    public void show(Analysis a) {
        job.reset();
        analysis.set(a);
        converted.set(null);
        convertedHasAdapterMerged = false;
        clear();
        if (a == null || a.modelPlan().isEmpty()) {
            against.set("");
        } else if (refusal(a).isPresent()) {
            against.set("Verify cannot check " + a.workspace().displayName() + ": " + refusal(a).get() + ".");
        } else {
            String type = a.workspace().model().modelType();
            against.set("Verify runs " + Verifier.checksFor(type) + " on " + a.workspace().displayName() + " and "
                    + (a.workspace().adapter() == null ? "its" : "their") + " conversion to "
                    + a.modelPlan().get().to().jsonName() + (Verifier.runsForwardPass(type)
                    ? ": the same tokens through every layer, the logits compared, and "
                    : ": ") + "seeded states through every expert and router of both layouts.");
        }
    }

    /** Why what is open cannot be checked, found before any work: no config to build the model from, or an adapter the checks cannot apply. */
    private static Optional<String> refusal(Analysis a) {
        if (a.workspace().model().config().isEmpty()) {
            return Optional.of("it has no config.json, and the checks build the model from one; open the folder "
                    + "that holds the checkpoint with its config.json");
        }
        return Verifier.refusal(a.workspace().model().modelType(), a.workspace().adapter() != null);
    }

    private void clear() {
        report.set(null);
        passed.set(null);
        verdict.set("");
        details.set("");
        checks.set("");
        expertRows.clear();
        layers.clear();
        positions.clear();
    }

    /** What Convert wrote (model first, then adapter), to verify against instead of a conversion of our own. */
    public void useConverted(List<Path> outputs) {
        useConverted(outputs, false);
    }

    /**
     * The same; with {@code adapterMerged} the model written has the open adapter merged in, and is compared with
     * the source model with the adapter applied.
     */
    public void useConverted(List<Path> outputs, boolean adapterMerged) {
        convertedHasAdapterMerged = adapterMerged && !outputs.isEmpty();
        converted.set(outputs.isEmpty() ? null : List.copyOf(outputs));
    }

    /** The token ids typed ("1, 2, 3"), or empty for the default ones. */
    private Optional<List<Integer>> tokenIds() {
        String t = tokens.get() == null ? "" : tokens.get().trim();
        if (t.isEmpty()) {
            return Optional.of(List.of());
        }
        List<Integer> ids = new ArrayList<>();
        for (String part : t.split("[,\\s]+")) {
            try {
                int id = Integer.parseInt(part);
                if (id < 0) {
                    return Optional.empty();
                }
                ids.add(id);
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        return Optional.of(ids);
    }

    /** The number of layers typed, empty for every layer, or 0 when it is not a positive number. */
    private OptionalInt layersToRun() {
        String t = layerCount.get() == null ? "" : layerCount.get().trim();
        if (t.isEmpty()) {
            return OptionalInt.empty();
        }
        try {
            int n = Integer.parseInt(t);
            return OptionalInt.of(Math.max(n, 0));
        } catch (NumberFormatException e) {
            return OptionalInt.of(0);
        }
    }

    /** Why the tokens or layers typed cannot be used, in one sentence; empty when they can. */
    private String optionsProblem() {
        Optional<List<Integer>> ids = tokenIds();
        if (ids.isEmpty()) {
            return "Tokens are ids separated by commas, e.g. 1, 2, 3, not '" + tokens.get().trim() + "'.";
        }
        if (ids.get().size() > Verifier.MOST_TOKENS) {
            return "A check runs at most " + Verifier.MOST_TOKENS + " tokens, not " + ids.get().size() + ".";
        }
        if (layersToRun().isPresent() && layersToRun().getAsInt() == 0) {
            return "Layers is how many of the first layers to run, a positive number, not '"
                    + layerCount.get().trim() + "'.";
        }
        return "";
    }

    /** Verify: against what Convert wrote, or the conversion read through its plan, written nowhere. */
    public void verify() {
        Analysis a = analysis.get();
        if (a == null || a.modelPlan().isEmpty() || refusal(a).isPresent()) {
            return;
        }
        Checkpoint model = a.workspace().model();
        Optional<Checkpoint> adapter = a.workspace().adapterCheckpoint();
        List<Path> written = converted.get();
        clear();
        VerificationRequest request;
        if (written != null) {
            Optional<Path> writtenAdapter = written.size() > 1 ? Optional.of(written.get(1)) : Optional.empty();
            // A converted model alone is compared with the source model alone, unless the adapter is merged in.
            request = VerificationRequest.of(model.location(), writtenAdapter.isPresent() || convertedHasAdapterMerged
                    ? adapter.map(Checkpoint::location) : Optional.empty(), written.getFirst(), writtenAdapter);
        } else {
            request = VerificationRequest.throughPlan(model.location(), adapter.map(Checkpoint::location));
        }
        request = request.withRules(model.ruleBook()).withTokens(tokenIds().orElseThrow());
        OptionalInt layers = layersToRun();
        VerificationRequest asked = layers.isPresent() ? request.withLayers(layers.getAsInt()) : request;
        job.start("Verifying " + a.workspace().displayName(), (progress, cancel) -> new Verifier().verify(asked,
                p -> progress.onProgress(new Progress(0, 0, p.itemsDone(), p.itemsTotal(), p.current())), cancel),
                this::show, failure -> verdict.set("Could not verify: " + failure));
    }

    private void show(VerificationReport r) {
        report.set(r);
        passed.set(r.passed());
        verdict.set(!r.passed() ? "Failed: " + r.failures().getFirst() + "."
                : r.forwardPass() ? "Passed: the conversion computes the same function (largest logit difference "
                + number(r.maxAbsDiff()) + ", tolerance " + number(r.tolerance()) + ")."
                : "Passed: every expert and router computes the same in both layouts (largest difference "
                + number(r.maxAbsDiff()) + ").");
        ExpertCheckResult x = r.experts();
        String expertDetails = "expert check: " + x.experts().size() + " experts in " + x.layers().size() + " of "
                + r.layersTotal() + " layers and " + x.routers().size() + " routers, "
                + (x.experts().isEmpty() ? "" : x.experts().getFirst().function() + ", ")
                + x.samples() + " seeded states" + (x.realStates() > 0 ? " and " + x.realStates()
                + " from the forward pass" : "") + " each";
        String forwardDetails = !r.forwardPass() ? "" : "forward pass: " + r.tokens().size() + " tokens through "
                + r.layersRun() + " of " + r.layersTotal() + " layers · top-1 agrees at " + r.top1Agreement()
                + " of " + r.tokens().size() + " positions · routers agree on " + r.routerAgreement() + " of "
                + r.routerDecisions() + " choices · ";
        checks.set("Checks run: " + r.checks() + (r.forwardPass() ? "" : " (the forward pass implements "
                + ModelDims.FAMILIES + " only)"));
        details.set(forwardDetails + expertDetails + " · source " + r.source().layout().jsonName() + " "
                + r.source().dtype().name() + ", converted " + r.converted().layout().jsonName() + " "
                + r.converted().dtype().name() + (r.converted().throughPlan() ? " read through its plan" : "")
                + (r.converted().adapter().isPresent() ? " · the adapter applied on both sides" : ""));
        expertRows.setAll(x.experts());
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

    /** The token ids to run, separated by commas ("1, 2, 3"); empty runs the default ones. */
    public StringProperty tokensProperty() {
        return tokens;
    }

    /** How many of the first layers to run; empty runs every layer. */
    public StringProperty layerCountProperty() {
        return layerCount;
    }

    /** Why the tokens or layers typed cannot be used, in one sentence; empty when they can. */
    public StringBinding optionsProblemProperty() {
        return optionsProblem;
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
        return a.workspace().adapter() == null ? "reads the conversion through its plan, written nowhere"
                : "reads the conversion through its plan, written nowhere (the adapter goes to a temporary folder)";
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

    /** Which checks the last verification ran, in words; empty before. */
    public ReadOnlyStringProperty checksProperty() {
        return checks.getReadOnlyProperty();
    }

    /** The expert check's rows: one per expert of every layer checked. */
    public ObservableList<ExpertCheckResult.ExpertComparison> experts() {
        return expertRowsView;
    }
}
