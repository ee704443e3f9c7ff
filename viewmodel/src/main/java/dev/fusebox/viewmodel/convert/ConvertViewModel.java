package dev.fusebox.viewmodel.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.CachedModel;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.checkpoint.QuantizationConfig;
import dev.fusebox.converter.text.Sizes;
import dev.fusebox.converter.convert.ConversionRequest;
import dev.fusebox.converter.convert.ConversionResult;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.converter.convert.FreeSpace;
import dev.fusebox.converter.lora.AdapterPlan;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.viewmodel.workspace.Analysis;
import dev.fusebox.viewmodel.host.Dialogs;
import dev.fusebox.viewmodel.workspace.Workspace;
import dev.fusebox.viewmodel.task.Failures;
import dev.fusebox.viewmodel.task.Job;
import dev.fusebox.viewmodel.task.TaskRunner;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.binding.StringBinding;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
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
 * conversion leaves nothing behind. The options are the command line's: the dtype an adapter is written in
 * ({@code --dtype}), merging the open adapter into the model ({@code --merge-adapter}), the largest shard
 * ({@code --max-shard-size}) and dequantizing a fine-grained FP8 model ({@code --dequantize}).
 */
public final class ConvertViewModel {

    /**
     * What one conversion wrote, or why a checkpoint of the workspace was not converted.
     *
     * @param adapterMerged whether the open adapter was merged into the model written (so it has no adapter beside)
     */
    public record Outcome(List<ConversionResult> written, List<String> notConverted, boolean adapterMerged) {
    }

    /** The dtypes an adapter can be written in, as {@code --dtype} takes them. */
    public static final List<Dtype> ADAPTER_DTYPES = List.of(Dtype.F64, Dtype.F32, Dtype.BF16, Dtype.F16);

    /** The largest shard when none is chosen: transformers' {@code save_pretrained} default. */
    public static final String DEFAULT_MAX_SHARD_SIZE = "5GB";

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
    private final ObjectProperty<Dtype> adapterDtype = new SimpleObjectProperty<>(this, "adapterDtype");
    private final BooleanProperty mergeAdapter = new SimpleBooleanProperty(this, "mergeAdapter");
    private final StringProperty maxShardSize = new SimpleStringProperty(this, "maxShardSize",
            DEFAULT_MAX_SHARD_SIZE);
    private final BooleanProperty dequantize = new SimpleBooleanProperty(this, "dequantize");
    private final ReadOnlyBooleanWrapper adapterOpen = new ReadOnlyBooleanWrapper(this, "adapterOpen");
    private final ReadOnlyBooleanWrapper canMergeAdapter = new ReadOnlyBooleanWrapper(this, "canMergeAdapter");
    private final ReadOnlyBooleanWrapper fp8Model = new ReadOnlyBooleanWrapper(this, "fp8Model");
    private final BooleanBinding canChooseDtype = adapterOpen.and(mergeAdapter.not());
    private final BooleanBinding canDequantize = fp8Model.and(mergeAdapter.not());
    private final StringBinding shardSizeProblem = Bindings.createStringBinding(this::shardSizeProblem,
            maxShardSize);
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
        this.canConvert = convertible.and(job.busyProperty().not()).and(shardSizeProblem.isEmpty());
        mergeAdapter.addListener((o, was, merge) -> describe());
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

    /**
     * Takes what is open now; forgets the outcome of a conversion of what was open before, and the options that
     * do not apply to it (a merge without an adapter beside a model, dequantizing what is not FP8).
     */
    public void show(Analysis a) {
        job.reset();
        analysis.set(a);
        outcome.set(null);
        outcomeText.set("");
        outputs.clear();
        adapterOpen.set(a != null && a.workspace().adapter() != null);
        canMergeAdapter.set(a != null && a.workspace().model() != null && a.workspace().adapter() != null
                && a.modelPlan().isPresent());
        fp8Model.set(a != null && a.workspace().modelCheckpoint().flatMap(Checkpoint::modelConfig)
                .map(ModelConfig::raw).flatMap(QuantizationConfig::of).filter(QuantizationConfig::fineGrainedFp8)
                .isPresent());
        mergeAdapter.set(mergeAdapter.get() && canMergeAdapter.get());
        dequantize.set(dequantize.get() && fp8Model.get());
        if (!adapterOpen.get()) {
            adapterDtype.set(null);
        }
        describe();
    }

    /** What Convert would write, in words: each checkpoint's conversion, or the model with the adapter merged. */
    private void describe() {
        Analysis a = analysis.get();
        Optional<ConversionPlan> adapterPlan = a == null ? Optional.empty() : a.adapterPlan().map(AdapterPlan::plan);
        if (a == null || (a.modelPlan().isEmpty() && adapterPlan.isEmpty())) {
            convertible.set(false);
            description.set(a == null ? "" : "Nothing here can be converted; the Mapping screen says why.");
            return;
        }
        ConversionPlan p = a.modelPlan().or(() -> adapterPlan).orElseThrow();
        target.set(p.to());
        convertible.set(true);
        if (mergeAdapter.get() && canMergeAdapter.get()) {
            ConversionPlan m = a.modelPlan().orElseThrow();
            description.set("Convert " + a.workspace().model().displayName() + " with "
                    + a.workspace().adapter().displayName() + " merged in, from " + m.from().jsonName() + " to "
                    + m.to().jsonName() + ": " + Sizes.count(m.targets().size()) + " tensors, "
                    + Sizes.bytes(m.targetBytes()) + ", as " + outputName(a.workspace().model(), m.to(), true));
            return;
        }
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
        if (a == null || !shardSizeProblem.get().isEmpty()) {
            return;
        }
        Workspace ws = a.workspace();
        outcome.set(null);
        outcomeText.set("");
        outputs.clear();
        boolean merge = mergeAdapter.get() && canMergeAdapter.get();
        String what = "Converting " + ws.displayName() + (merge ? " (the adapter merged in)" : "") + " to "
                + to.jsonName();
        try {
            FreeSpace.require(folder, bytesToWrite(a, to, merge), usableSpace.applyAsLong(folder), what);
        } catch (FuseboxException e) {
            refused(e);
            return;
        }
        ConvertOptions options = new ConvertOptions(Sizes.parse(maxShardSize.get()), false);
        List<Checkpoint> inputs = merge ? List.of(ws.model()) : ws.checkpoints();
        job.start(what, (progress, cancel) -> {
            List<ConversionPlan> plans = new ArrayList<>();
            List<Checkpoint> planned = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            for (Checkpoint c : inputs) {
                try {
                    plans.add(Conversions.plan(c, request(ws, c, to, merge)).plan());
                    planned.add(c);
                } catch (FuseboxException e) {
                    if (c.kind() == CheckpointKind.MODEL || inputs.size() == 1) {
                        throw e;
                    }
                    skipped.add(c.displayName() + ": " + Failures.sentence(e));
                }
            }
            long total = 0;
            for (ConversionPlan p : plans) {
                total = Math.addExact(total, p.targetBytes());
            }
            // The plans of the options chosen (a dequantized model is larger) are checked again before writing.
            FreeSpace.require(folder, total, usableSpace.applyAsLong(folder), what);
            List<ConversionResult> written = new ArrayList<>();
            long before = 0;
            for (int i = 0; i < plans.size(); i++) {
                Path out = folder.resolve(freeName(folder, outputName(planned.get(i), to, merge)));
                written.add(Conversions.execute(planned.get(i), plans.get(i), out, options,
                        progress.offset(before, total), cancel));
                before += plans.get(i).targetBytes();
            }
            return new Outcome(written, skipped, merge);
        }, this::finished, onFailure);
    }

    private void refused(FuseboxException e) {
        outcomeText.set("Not converted: " + Failures.sentence(e));
        onFailure.accept(Failures.sentence(e));
    }

    /** How {@code c} converts to {@code to} with the options chosen: each applies to the input it is for. */
    private ConversionRequest request(Workspace ws, Checkpoint c, Layout to, boolean merge) {
        ConversionRequest r = ws.request(c, Optional.of(to));
        if (c == ws.adapter()) {
            return r.withDtype(Optional.ofNullable(adapterDtype.get()));
        }
        return r.withMergeAdapter(merge ? Optional.of(ws.adapter().location()) : Optional.empty())
                .withDequantize(dequantize.get() && fp8Model.get() && !merge);
    }

    /** Why the shard size typed cannot be used, or empty. */
    private String shardSizeProblem() {
        String text = maxShardSize.get();
        if (text == null || text.isBlank()) {
            return "Give the largest shard, e.g. 5GB, 500MB or 2GiB.";
        }
        try {
            Sizes.parse(text);
            return "";
        } catch (IllegalArgumentException e) {
            return "The largest shard must be " + (e.getMessage().contains("positive") ? "a positive size"
                    : "a size such as 5GB, 500MB or 2GiB") + ", not '" + text.trim() + "'.";
        }
    }

    /**
     * What converting to {@code to} writes, from the plans made when the workspace opened: the model's and the
     * adapter's, each counted when it goes to {@code to}. The engine checks each plan again before it writes.
     */
    private static long bytesToWrite(Analysis a, Layout to, boolean merge) {
        long bytes = 0;
        for (Optional<ConversionPlan> p : List.of(a.modelPlan(), merge ? Optional.<ConversionPlan>empty()
                : a.adapterPlan().map(AdapterPlan::plan))) {
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
        return outputName(c, to, false);
    }

    /** The same, with {@code -merged} before the layout when an adapter was merged into the model. */
    static String outputName(Checkpoint c, Layout to, boolean merged) {
        Path location = c.location();
        String name = location.getFileName().toString();
        String suffix = (merged ? "-merged-" : "-") + to.jsonName();
        if (Files.isDirectory(location) || name.endsWith(".index.json")) {
            return c.cachedModel().map(CachedModel::name).orElse(c.directory().getFileName().toString()) + suffix;
        }
        String stem = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
        return stem + suffix + ".safetensors";
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

    /** Whether what Open output and Verify use has the open adapter merged into the model. */
    public boolean outputHasAdapterMerged() {
        Outcome o = outcome.get();
        return o != null && o.adapterMerged();
    }

    public Job job() {
        return job;
    }

    /** For an adapter: the dtype its tensors are written in; null keeps each in its own. */
    public ObjectProperty<Dtype> adapterDtypeProperty() {
        return adapterDtype;
    }

    /** Merge the open adapter into the model written, instead of converting it beside the model. */
    public BooleanProperty mergeAdapterProperty() {
        return mergeAdapter;
    }

    /** The largest shard file, as the command line takes it ("5GB", "500MB", "2GiB"). */
    public StringProperty maxShardSizeProperty() {
        return maxShardSize;
    }

    /** For a fine-grained FP8 model: write its FP8 weights dense, as transformers dequantizes them on CPU. */
    public BooleanProperty dequantizeProperty() {
        return dequantize;
    }

    /** Whether an adapter is open and converted on its own, so its dtype can be chosen. */
    public BooleanBinding canChooseDtypeProperty() {
        return canChooseDtype;
    }

    /** Whether a model and an adapter on it are open, so the adapter can be merged. */
    public ReadOnlyBooleanProperty canMergeAdapterProperty() {
        return canMergeAdapter.getReadOnlyProperty();
    }

    /** Whether the model is a fine-grained FP8 one (and not merged), so it can be dequantized. */
    public BooleanBinding canDequantizeProperty() {
        return canDequantize;
    }

    /** Why the shard size typed cannot be used, in one sentence; empty when it can. */
    public StringBinding shardSizeProblemProperty() {
        return shardSizeProblem;
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
