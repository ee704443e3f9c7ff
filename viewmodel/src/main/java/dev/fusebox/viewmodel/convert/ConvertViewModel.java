package dev.fusebox.viewmodel.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.CachedModel;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.cli.Sizes;
import dev.fusebox.converter.convert.ConversionResult;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.converter.convert.FreeSpace;
import dev.fusebox.converter.lora.AdapterPlan;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.viewmodel.main.Analysis;
import dev.fusebox.viewmodel.main.Dialogs;
import dev.fusebox.viewmodel.main.Workspace;
import dev.fusebox.viewmodel.task.Failures;
import dev.fusebox.viewmodel.task.Job;
import dev.fusebox.viewmodel.task.TaskRunner;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;

/**
 * The convert screen: what Convert would write, the conversion itself in the background (progress, rate, time
 * left, Cancel) and, once done, what was written with Open and Verify offered. Outputs go into a folder the user
 * chooses, each checkpoint as {@code <name>-<layout>} (a new name if that exists): the model, and its adapter
 * beside it; the engine builds each under a temporary name and renames it into place, so a cancelled or failed
 * conversion leaves nothing behind.
 */
public final class ConvertViewModel {

    /** What one conversion wrote, or why a checkpoint of the workspace was not converted. */
    public record Outcome(List<ConversionResult> written, List<String> notConverted) {
    }

    private final Dialogs dialogs;
    private final Job job;
    private final Consumer<List<Path>> opener;
    private final ReadOnlyObjectWrapper<Analysis> analysis = new ReadOnlyObjectWrapper<>(this, "analysis");
    private final ReadOnlyStringWrapper description = new ReadOnlyStringWrapper(this, "description", "");
    private final ReadOnlyBooleanWrapper convertible = new ReadOnlyBooleanWrapper(this, "convertible");
    private final ReadOnlyObjectWrapper<Layout> target = new ReadOnlyObjectWrapper<>(this, "target", Layout.V5);
    private final ReadOnlyObjectWrapper<Outcome> outcome = new ReadOnlyObjectWrapper<>(this, "outcome");
    private final ReadOnlyStringWrapper outcomeText = new ReadOnlyStringWrapper(this, "outcomeText", "");
    private final ObservableList<Path> outputs = FXCollections.observableArrayList();
    private final ObservableList<Path> outputsView = FXCollections.unmodifiableObservableList(outputs);
    private final BooleanBinding canConvert;
    private final BooleanBinding hasOutput = javafx.beans.binding.Bindings.isNotEmpty(outputs);
    private Consumer<List<Path>> verifier = p -> { };
    private Consumer<String> onFailure = s -> { };
    private ToLongFunction<Path> usableSpace = FreeSpace::usable;

    /** @param opener opens paths in the window (Open output) */
    public ConvertViewModel(TaskRunner runner, Dialogs dialogs, Consumer<List<Path>> opener) {
        this.dialogs = dialogs;
        this.opener = opener;
        this.job = new Job(runner);
        this.canConvert = convertible.and(job.busyProperty().not());
    }

    /** What Verify after a conversion runs: the verify screen on the converted checkpoint. */
    public void setVerifier(Consumer<List<Path>> verifier) {
        this.verifier = verifier;
    }

    /** Where failures go besides this screen (the window's notifications). */
    public void setOnFailure(Consumer<String> onFailure) {
        this.onFailure = onFailure;
    }

    /** How the bytes free where a conversion writes are found (a test stands in for a small disk). */
    void setUsableSpace(ToLongFunction<Path> usableSpace) {
        this.usableSpace = usableSpace;
    }

    /** Takes what is open now; forgets the outcome of a conversion of what was open before. */
    public void show(Analysis a) {
        job.reset();
        analysis.set(a);
        outcome.set(null);
        outcomeText.set("");
        outputs.clear();
        Optional<ConversionPlan> adapterPlan = a == null ? Optional.empty() : a.adapterPlan().map(AdapterPlan::plan);
        if (a == null || a.modelPlan().isEmpty() && adapterPlan.isEmpty()) {
            convertible.set(false);
            description.set(a == null ? "" : "Nothing here can be converted; the Mapping screen says why.");
            return;
        }
        ConversionPlan p = a.modelPlan().or(() -> adapterPlan).orElseThrow();
        target.set(p.to());
        convertible.set(true);
        StringBuilder s = new StringBuilder();
        a.modelPlan().ifPresent(m -> s.append(line(a.workspace().model(), m, "")));
        adapterPlan.ifPresent(m -> s.append(s.isEmpty() ? "" : "\n").append(line(a.workspace().adapter(), m,
                a.workspace().modelCheckpoint().map(base -> ", the LoRA adapter on " + base.displayName() + ",")
                        .orElse(""))));
        description.set(s.toString());
    }

    /** "Convert legacy-base from legacy to v5: 21 tensors, 803 KiB, as legacy-base-v5". */
    private static String line(Checkpoint c, ConversionPlan p, String what) {
        return "Convert " + c.displayName() + what + " from " + p.from().jsonName() + " to " + p.to().jsonName()
                + ": " + Sizes.count(p.targets().size()) + " tensors, " + Sizes.bytes(p.targetBytes()) + ", as "
                + outputName(c, p.to());
    }

    /** Convert: asks where to write, then converts what is open to the other layout. */
    public void convert() {
        convert(target.get());
    }

    /**
     * Asks where to write, then converts what is open to {@code to}; what is in {@code to} already is refused
     * before asking (dropped on the wrong zone), in one sentence that says what to do instead.
     */
    public void convert(Layout to) {
        Analysis a = analysis.get();
        if (a == null || job.isBusy()) {
            return;
        }
        if (a.workspace().layout() == to) {
            Layout other = to == Layout.V5 ? Layout.LEGACY : Layout.V5;
            onFailure.accept(a.workspace().displayName() + " is already in the " + to.jsonName()
                    + " layout; drop it on “Convert to " + other.jsonName() + "” to convert it.");
            return;
        }
        Path suggestion = a.workspace().primary().directory().getParent();
        dialogs.chooseOutputFolder("Convert to " + to.jsonName() + ": choose the folder to write into", suggestion)
                .ifPresent(folder -> convertInto(folder, to));
    }

    /**
     * Converts what is open to {@code to}, writing into {@code folder}: the model, and the adapter (on the model
     * as its base) beside it. An adapter that cannot be converted beside a model that can is left out, with why.
     */
    public void convertInto(Path folder, Layout to) {
        Analysis a = analysis.get();
        if (a == null) {
            return;
        }
        Workspace ws = a.workspace();
        outcome.set(null);
        outcomeText.set("");
        outputs.clear();
        try {
            FreeSpace.require(folder, bytesToWrite(a, to), usableSpace.applyAsLong(folder),
                    "Converting " + ws.displayName() + " to " + to.jsonName());
        } catch (FuseboxException e) {
            outcomeText.set("Not converted: " + Failures.sentence(e));
            onFailure.accept(Failures.sentence(e));
            return;
        }
        job.start("Converting " + ws.displayName() + " to " + to.jsonName(), (progress, cancel) -> {
            List<ConversionPlan> plans = new ArrayList<>();
            List<Checkpoint> planned = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            for (Checkpoint c : ws.checkpoints()) {
                try {
                    plans.add(Conversions.plan(c, ws.request(c, Optional.of(to))).plan());
                    planned.add(c);
                } catch (FuseboxException e) {
                    if (c.kind() == CheckpointKind.MODEL || ws.checkpoints().size() == 1) {
                        throw e;
                    }
                    skipped.add(c.displayName() + ": " + Failures.sentence(e));
                }
            }
            long total = plans.stream().mapToLong(ConversionPlan::targetBytes).sum();
            List<ConversionResult> written = new ArrayList<>();
            long before = 0;
            for (int i = 0; i < plans.size(); i++) {
                Path out = folder.resolve(freeName(folder, outputName(planned.get(i), to)));
                written.add(Conversions.execute(planned.get(i), plans.get(i), out, ConvertOptions.DEFAULTS,
                        progress.offset(before, total), cancel));
                before += plans.get(i).targetBytes();
            }
            return new Outcome(written, skipped);
        }, this::finished, onFailure::accept);
    }

    /**
     * What converting to {@code to} writes, from the plans made when the workspace opened: the model's and the
     * adapter's, each counted when it goes to {@code to}. The engine checks each plan again before it writes.
     */
    private static long bytesToWrite(Analysis a, Layout to) {
        long bytes = 0;
        for (Optional<ConversionPlan> p : List.of(a.modelPlan(), a.adapterPlan().map(AdapterPlan::plan))) {
            if (p.isPresent() && p.get().to() == to) {
                bytes = Math.addExact(bytes, p.get().targetBytes());
            }
        }
        return bytes;
    }

    private void finished(Outcome o) {
        outputs.setAll(o.written().stream().map(ConversionResult::output).toList());
        StringBuilder s = new StringBuilder();
        for (ConversionResult r : o.written()) {
            s.append(s.isEmpty() ? "" : "\n").append("Wrote ").append(Sizes.count(r.tensors())).append(" tensors, ")
                    .append(Sizes.bytes(r.bytes())).append(", to ").append(r.output()).append(" in ")
                    .append(String.format(Locale.ROOT, "%.2f s", r.nanos() / 1e9));
            if (r.bytesPerSecond() > 0) {
                s.append(" (").append(Sizes.bytes((long) r.bytesPerSecond())).append("/s)");
            }
        }
        for (String skipped : o.notConverted()) {
            s.append("\nNot converted: ").append(skipped);
        }
        outcomeText.set(s.toString());
        outcome.set(o);
    }

    /**
     * {@code legacy-base} → {@code legacy-base-v5}; a single file keeps its extension; a Hugging Face cache snapshot
     * is named by its model, not its revision: {@code mistralai/Mixtral-8x7B-v0.1} → {@code Mixtral-8x7B-v0.1-v5}.
     */
    static String outputName(Checkpoint c, Layout to) {
        Path location = c.location();
        String name = location.getFileName().toString();
        if (Files.isDirectory(location) || name.endsWith(".index.json")) {
            return c.cachedModel().map(CachedModel::name).orElse(c.directory().getFileName().toString())
                    + "-" + to.jsonName();
        }
        String stem = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
        return stem + "-" + to.jsonName() + ".safetensors";
    }

    /** {@code name}, or {@code name-2}, {@code name-3}, ... (before the extension), whichever is free. */
    static String freeName(Path folder, String name) {
        if (!Files.exists(folder.resolve(name))) {
            return name;
        }
        int dot = name.endsWith(".safetensors") ? name.length() - ".safetensors".length() : name.length();
        for (int i = 2; ; i++) {
            String candidate = name.substring(0, dot) + "-" + i + name.substring(dot);
            if (!Files.exists(folder.resolve(candidate)) && !Files.exists(folder.resolve(candidate + ".partial"))) {
                return candidate;
            }
        }
    }

    /** Open output: opens what was written in this window. */
    public void openOutput() {
        if (!outputs.isEmpty()) {
            opener.accept(List.copyOf(outputs));
        }
    }

    /** Verify: runs the sample forward pass on the original and what was written. */
    public void verifyOutput() {
        if (!outputs.isEmpty()) {
            verifier.accept(List.copyOf(outputs));
        }
    }

    public Job job() {
        return job;
    }

    public ReadOnlyStringProperty descriptionProperty() {
        return description.getReadOnlyProperty();
    }

    public BooleanBinding canConvertProperty() {
        return canConvert;
    }

    public ReadOnlyObjectProperty<Outcome> outcomeProperty() {
        return outcome.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty outcomeTextProperty() {
        return outcomeText.getReadOnlyProperty();
    }

    /** What the last conversion wrote. */
    public ObservableList<Path> outputs() {
        return outputsView;
    }

    public BooleanBinding hasOutputProperty() {
        return hasOutput;
    }
}
