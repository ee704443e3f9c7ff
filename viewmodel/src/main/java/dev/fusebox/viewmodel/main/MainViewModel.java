package dev.fusebox.viewmodel.main;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.text.Sizes;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.cache.CacheViewModel;
import dev.fusebox.viewmodel.browse.TreesViewModel;
import dev.fusebox.viewmodel.convert.ConvertViewModel;
import dev.fusebox.viewmodel.detail.TensorDetailViewModel;
import dev.fusebox.viewmodel.detail.ThroughPlan;
import dev.fusebox.viewmodel.diff.DiffViewModel;
import dev.fusebox.viewmodel.host.Dialogs;
import dev.fusebox.viewmodel.host.RulesSource;
import dev.fusebox.viewmodel.mapping.MappingViewModel;
import dev.fusebox.viewmodel.verify.VerifyViewModel;
import dev.fusebox.viewmodel.task.Activity;
import dev.fusebox.viewmodel.task.Job;
import dev.fusebox.viewmodel.task.TaskRunner;
import dev.fusebox.viewmodel.workspace.Analysis;
import dev.fusebox.viewmodel.workspace.Workspace;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.binding.Bindings;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.collections.ObservableList;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The main window: what is open, the screens' view models, opening (File ▸ Open, recent files, drag and drop,
 * the command line), notices, the status line, the theme. The composition root (the app's main) builds one.
 */
public final class MainViewModel {

    public static final String APP_NAME = "Fusebox";

    private final Dialogs dialogs;
    private final RecentFiles recent;
    private final SampleSource sample;
    private final RulesSource rules;
    private final Job opening;
    private final Activity activity = new Activity();
    private final TreesViewModel trees = new TreesViewModel();
    private final TensorDetailViewModel detail;
    private final MappingViewModel mapping;
    private final ConvertViewModel convert;
    private final DiffViewModel diff;
    private final VerifyViewModel verify;
    private final CacheViewModel cache;
    private final ReadOnlyObjectWrapper<Workspace> workspace = new ReadOnlyObjectWrapper<>(this, "workspace");
    private final ReadOnlyStringWrapper title = new ReadOnlyStringWrapper(this, "title", APP_NAME);
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper(this, "status", "");
    private final ReadOnlyObjectWrapper<Notice> notice = new ReadOnlyObjectWrapper<>(this, "notice");
    private final ObjectProperty<Screen> screen = new SimpleObjectProperty<>(this, "screen", Screen.MODEL);
    private final BooleanProperty dark = new SimpleBooleanProperty(this, "dark");
    private final BooleanBinding hasWorkspace = workspace.isNotNull();
    private long notices;

    public MainViewModel(TaskRunner runner, Dialogs dialogs, RecentFiles recent, SampleSource sample,
                         RulesSource rules) {
        this.dialogs = dialogs;
        this.recent = recent;
        this.sample = sample;
        this.rules = rules;
        this.opening = new Job(runner);
        this.detail = new TensorDetailViewModel(runner);
        this.mapping = new MappingViewModel(key -> {
            reveal(key);
            screen.set(Screen.MODEL);
        });
        this.convert = new ConvertViewModel(runner, dialogs, this::open);
        this.diff = new DiffViewModel(runner, dialogs, rules,
                () -> workspace.get() == null ? null : workspace.get().primary().location());
        this.verify = new VerifyViewModel(runner);
        this.cache = new CacheViewModel(runner, rules, this::open);
        detail.rowProperty().bind(trees.selectedProperty());
        convert.setVerifier(outputs -> {
            verify.useConverted(outputs, convert.outputHasAdapterMerged());
            screen.set(Screen.VERIFY);
            verify.verify();
        });
        convert.setOnFailure(failure -> notify(Notice.Kind.ERROR, failure));
        convert.outcomeProperty().addListener((o, old, done) -> {
            if (done != null) {
                notify(Notice.Kind.SUCCESS, "Converted: " + String.join(", ", convert.outputs().stream()
                        .map(MainViewModel::name).toList()) + ". Verify or open it from the Convert screen.");
            }
        });
        diff.job().failureProperty().addListener((o, old, failure) -> {
            if (!failure.isEmpty()) {
                notify(Notice.Kind.ERROR, failure);
            }
        });
        for (Job j : List.of(opening, detail.job(), convert.job(), verify.job(), diff.job())) {
            activity.track(j);
        }
        status.bind(Bindings.createStringBinding(this::describeStatus, workspace, opening.busyProperty(),
                opening.titleProperty()));
    }

    /** File ▸ Open File: a .safetensors or index file. */
    public void openFile() {
        dialogs.chooseCheckpointFile().ifPresent(p -> open(List.of(p)));
    }

    /** File ▸ Open Folder: a checkpoint or adapter directory. */
    public void openFolder() {
        dialogs.chooseCheckpointFolder().ifPresent(p -> open(List.of(p)));
    }

    /**
     * Opens {@code paths} in the background (dropped files, recent files, the command line): the last model among
     * them and the last adapter, an adapter with its base model when it names a local one.
     */
    public void open(List<Path> paths) {
        open(paths, a -> { });
    }

    /** Opens {@code paths}, then converts them to {@code to}: what dropping on "Convert to v5/legacy" does. */
    public void openAndConvert(List<Path> paths, Layout to) {
        open(paths, a -> {
            screen.set(Screen.CONVERT);
            convert.convert(to);
        });
    }

    private void open(List<Path> paths, Consumer<Analysis> then) {
        if (paths.isEmpty()) {
            return;
        }
        Optional<Workspace> current = Optional.ofNullable(workspace.get());
        String what = paths.size() == 1 ? name(paths.getFirst()) : paths.size() + " paths";
        opening.start("Opening " + what, (progress, cancel) -> {
            Workspace ws = WorkspaceOpener.open(paths, current, rules.load(), cancel);
            return Analysis.of(ws);
        }, opened -> {
            install(opened);
            remember(paths, opened.workspace());
            then.accept(opened);
        }, failure -> {
            paths.stream().filter(p -> !p.toFile().exists()).forEach(recent::remove);
            notify(Notice.Kind.ERROR, failure);
        });
    }

    /**
     * Adds what was opened to the recent files: each path as given, except a Hugging Face model id (no such local
     * path), which is remembered by the cache snapshot it opened.
     */
    private void remember(List<Path> paths, Workspace ws) {
        boolean ids = false;
        for (Path p : paths) {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                recent.add(p);
            } else {
                ids = true;
            }
        }
        if (ids) {
            ws.checkpoints().stream().filter(c -> c.cachedModel().isPresent()).map(Checkpoint::location)
                    .forEach(recent::add);
        }
    }

    /** Opens the bundled sample: a tiny legacy Mixtral with a LoRA adapter, to see everything at once. */
    public void openSample() {
        Optional<Workspace> current = Optional.ofNullable(workspace.get());
        opening.start("Opening the sample", (progress, cancel) ->
                Analysis.of(WorkspaceOpener.open(sample.paths(), current, rules.load(), cancel)),
                this::install, failure -> notify(Notice.Kind.ERROR, failure));
    }

    /** Opens a recent file again. */
    public void openRecent(Path path) {
        open(List.of(path));
    }

    /** Closes what is open. */
    public void close() {
        Workspace old = workspace.get();
        if (old == null) {
            return;
        }
        opening.cancel();
        trees.clear();
        detail.usePlans(List.of());
        mapping.clear();
        convert.show(null);
        verify.show(null);
        diff.reset();
        notice.set(null);
        workspace.set(null);
        title.set(APP_NAME);
        old.checkpoints().forEach(Checkpoint::close);
    }

    private void install(Analysis a) {
        Workspace old = workspace.get();
        trees.show(a.tree(Side.LEGACY).orElse(null), a.caption(Side.LEGACY), a.tree(Side.V5).orElse(null),
                a.caption(Side.V5), a.links());
        detail.usePlans(plans(a));
        mapping.show(a.mapping(), a.messages());
        convert.show(a);
        verify.show(a);
        diff.reset();
        // Notices were about what was open before.
        notice.set(null);
        workspace.set(a.workspace());
        if (old != null) {
            Set<Checkpoint> kept = new HashSet<>(a.workspace().checkpoints());
            old.checkpoints().stream().filter(c -> !kept.contains(c)).forEach(Checkpoint::close);
        }
        title.set(APP_NAME + " — " + a.workspace().title());
    }

    /** The conversions the detail pane reads the other side's tensors through: the model's, the adapter's. */
    private static List<ThroughPlan> plans(Analysis a) {
        List<ThroughPlan> out = new ArrayList<>(2);
        a.workspace().modelCheckpoint().ifPresent(m -> a.modelPlan().ifPresent(p -> out.add(new ThroughPlan(m, p))));
        a.workspace().adapterCheckpoint().ifPresent(c -> a.adapterPlan()
                .ifPresent(p -> out.add(new ThroughPlan(c, p.plan()))));
        return out;
    }

    /**
     * Selects the tensor with {@code key} wherever it shows: in the trees, on whichever side holds it, and in the
     * mapping table when the conversion writes it. False when neither tree holds it.
     */
    public boolean reveal(String key) {
        mapping.select(key);
        for (Side side : Side.values()) {
            var row = trees.tensorRow(side, key);
            if (row.isPresent()) {
                trees.select(row.get());
                return true;
            }
        }
        return false;
    }

    /** Shows a message in the window's notification area. */
    public void notify(Notice.Kind kind, String text) {
        notice.set(new Notice(kind, text, ++notices));
    }

    /** The user closed the notice. */
    public void dismissNotice() {
        notice.set(null);
    }

    private String describeStatus() {
        if (opening.isBusy()) {
            return opening.titleProperty().get() + " …";
        }
        Workspace ws = workspace.get();
        if (ws == null) {
            return "Open a checkpoint or adapter: File ▸ Open, or drop a folder or .safetensors file on the window.";
        }
        StringBuilder s = new StringBuilder();
        Checkpoint p = ws.primary();
        s.append(ws.layout().jsonName()).append(" layout · ").append(p.modelType());
        for (Checkpoint c : ws.checkpoints()) {
            s.append(" · ").append(c.kind().jsonName()).append(' ').append(Sizes.count(c.tensors().size()))
                    .append(" tensors, ").append(Sizes.bytes(c.tensorBytes()));
        }
        return s.toString();
    }

    private static String name(Path p) {
        Path n = p.getFileName();
        return n == null ? p.toString() : n.toString();
    }

    /** The models in the Hugging Face cache, to open with a click. */
    public CacheViewModel cache() {
        return cache;
    }

    public TreesViewModel trees() {
        return trees;
    }

    public TensorDetailViewModel detail() {
        return detail;
    }

    public MappingViewModel mapping() {
        return mapping;
    }

    public ConvertViewModel convert() {
        return convert;
    }

    public DiffViewModel diff() {
        return diff;
    }

    public VerifyViewModel verify() {
        return verify;
    }

    public ReadOnlyObjectProperty<Workspace> workspaceProperty() {
        return workspace.getReadOnlyProperty();
    }

    public Workspace getWorkspace() {
        return workspace.get();
    }

    public BooleanBinding hasWorkspaceProperty() {
        return hasWorkspace;
    }

    /** "Fusebox — mixtral · legacy-base + legacy-lora-attn_experts". */
    public ReadOnlyStringProperty titleProperty() {
        return title.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Notice> noticeProperty() {
        return notice.getReadOnlyProperty();
    }

    public ObservableList<Path> recentFiles() {
        return recent.paths();
    }

    public void clearRecentFiles() {
        recent.clear();
    }

    public ObjectProperty<Screen> screenProperty() {
        return screen;
    }

    public BooleanProperty darkProperty() {
        return dark;
    }

    /** The job that opens files. */
    public Job opening() {
        return opening;
    }

    /** Background work of every screen, for the status bar and Cancel. */
    public Activity activity() {
        return activity;
    }
}
