package dev.fusebox.app;

import dev.fusebox.app.actions.AppAction;
import dev.fusebox.app.main.FxDialogs;
import dev.fusebox.app.main.MainView;
import dev.fusebox.app.main.MainWindow;
import dev.fusebox.app.sample.BundledSample;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.RecentFiles;
import dev.fusebox.viewmodel.main.Screen;
import dev.fusebox.viewmodel.task.FxTaskRunner;
import javafx.application.Application;
import javafx.beans.InvalidationListener;
import javafx.beans.Observable;
import javafx.application.Platform;
import javafx.scene.control.Alert;
import javafx.scene.control.TextArea;
import javafx.stage.Stage;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The desktop app's composition root: builds the task runner, the view model and the window, and opens the paths
 * given on the command line, or the bundled sample when there are none. System properties can set up the first
 * view for unattended runs (docs/screenshots.sh uses them): {@code fusebox.theme} (light, dark),
 * {@code fusebox.select} (a tensor key to select once open), {@code fusebox.heatmap.all} (the heat map of every
 * slice stacked, for the statistics an action computes), {@code fusebox.search} (what to search the trees
 * for, jumping to the first match), {@code fusebox.actions} (actions to run once open,
 * by name, comma-separated: STATISTICS, CONVERT, VERIFY, CLOSE), {@code fusebox.screen} (the screen to show: model,
 * mapping, convert, verify, diff), {@code fusebox.output} (where Convert writes, without asking) and
 * {@code fusebox.compare} (a checkpoint to compare what is open with, values included, on the diff screen; with
 * {@code fusebox.diff.only=true} its trees show only what differs; with {@code fusebox.diff.cell=cell-1-expert-3}
 * that cell of the per-layer chart is selected in both).
 * When any of these is given, the app prints {@code fusebox: ready} on standard output once what they started
 * has finished, so a script knows when the window shows the result; with {@code fusebox.quit=true} it then exits
 * (the launcher's training run for its start-up cache does that).
 */
public final class FuseboxApp extends Application {

    private FxTaskRunner runner;

    @Override
    public void start(Stage stage) {
        AppDirectories dirs = AppDirectories.fromEnvironment();
        runner = new FxTaskRunner();
        MainViewModel vm = new MainViewModel(runner, new FxDialogs(stage), RecentFiles.load(dirs.recentFiles()),
                new BundledSample(dirs.cache()), RuleBook::installed);
        vm.darkProperty().set("dark".equalsIgnoreCase(System.getProperty("fusebox.theme")));
        // Opening starts first: it reads and plans on another core while this thread builds the window, and its
        // result is installed on this thread after the window shows.
        List<Path> paths = getParameters().getRaw().stream().map(Path::of).toList();
        if (paths.isEmpty()) {
            vm.openSample();
        } else {
            vm.open(paths);
        }
        MainView view = MainWindow.show(stage, vm);
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> Platform.runLater(() -> showUnexpected(stage, e)));
        vm.workspaceProperty().addListener(new InvalidationListener() {
            @Override
            public void invalidated(Observable o) {
                vm.workspaceProperty().removeListener(this);
                // After the opening has installed everything, so a set-up action (Close too) sees it whole.
                Platform.runLater(() -> setUp(vm, view));
            }
        });
    }

    private static final List<String> SET_UP = List.of("fusebox.select", "fusebox.search", "fusebox.actions",
            "fusebox.screen", "fusebox.compare", "fusebox.output", "fusebox.theme", "fusebox.quit",
            "fusebox.heatmap.all", "fusebox.diff.cell");

    /** Applies the set-up properties once the first checkpoint is open. */
    private static void setUp(MainViewModel vm, MainView view) {
        if (SET_UP.stream().anyMatch(p -> System.getProperty(p) != null)) {
            announceWhenIdle(vm);
        }
        String select = System.getProperty("fusebox.select", "").strip();
        if (!select.isEmpty() && !vm.reveal(select)) {
            System.err.println("fusebox: fusebox.select=" + select + " names no tensor of what is open.");
        }
        String search = System.getProperty("fusebox.search", "").strip();
        if (!search.isEmpty()) {
            vm.trees().search().queryProperty().set(search);
        }
        vm.detail().wholeTensorProperty().set(Boolean.getBoolean("fusebox.heatmap.all"));
        for (String name : System.getProperty("fusebox.actions", "").split(",")) {
            if (name.isBlank()) {
                continue;
            }
            try {
                if (!view.actions().run(AppAction.valueOf(name.strip().toUpperCase(Locale.ROOT)))) {
                    System.err.println("fusebox: " + name.strip() + " cannot run on what is open.");
                }
            } catch (IllegalArgumentException e) {
                System.err.println("fusebox: fusebox.actions names no action '" + name.strip() + "'.");
            }
        }
        String compare = System.getProperty("fusebox.compare", "").strip();
        if (!compare.isEmpty()) {
            vm.screenProperty().set(Screen.DIFF);
            vm.diff().onlyDifferencesProperty().set(Boolean.getBoolean("fusebox.diff.only"));
            selectCellWhenCompared(vm, System.getProperty("fusebox.diff.cell", "").strip());
            vm.diff().compare(vm.getWorkspace().primary().location(), Path.of(compare), true);
        }
        String screen = System.getProperty("fusebox.screen", "").strip();
        if (!screen.isEmpty()) {
            try {
                vm.screenProperty().set(Screen.valueOf(screen.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                System.err.println("fusebox: fusebox.screen=" + screen + " names no screen.");
            }
        }
    }

    /**
     * Once the chart fills, selects in both trees its cell {@code cell}, named as the chart names its boxes
     * ({@code cell-1-expert-3}: a property holds no space).
     */
    private static void selectCellWhenCompared(MainViewModel vm, String cell) {
        if (cell.isEmpty()) {
            return;
        }
        vm.diff().cells().addListener(new InvalidationListener() {
            @Override
            public void invalidated(Observable o) {
                vm.diff().cells().stream()
                        .filter(c -> cell.equals("cell-" + c.layer() + "-" + c.group().replace(' ', '-')))
                        .findFirst().ifPresent(c -> {
                            vm.diff().cells().removeListener(this);
                            vm.diff().selectCell(c);
                        });
            }
        });
    }

    /** Prints "fusebox: ready" once no background work runs (after the set-up's work has started). */
    private static void announceWhenIdle(MainViewModel vm) {
        Platform.runLater(() -> {
            if (!vm.activity().busyProperty().get()) {
                System.out.println("fusebox: ready");
                System.out.flush();
                if (Boolean.getBoolean("fusebox.quit")) {
                    Platform.exit();
                }
                return;
            }
            vm.activity().busyProperty().addListener(new InvalidationListener() {
                @Override
                public void invalidated(Observable o) {
                    if (!vm.activity().busyProperty().get()) {
                        vm.activity().busyProperty().removeListener(this);
                        announceWhenIdle(vm);
                    }
                }
            });
        });
    }

    /** The last resort: anything no view model caught, in a dialog owned by the window, with its trace. */
    private static void showUnexpected(Stage owner, Throwable e) {
        StringWriter trace = new StringWriter();
        e.printStackTrace(new PrintWriter(trace));
        Alert alert = new Alert(Alert.AlertType.ERROR);
        alert.initOwner(owner);
        alert.setTitle("Fusebox — unexpected error");
        alert.setHeaderText("Something went wrong that Fusebox did not expect: " + e);
        TextArea details = new TextArea(trace.toString());
        details.setEditable(false);
        alert.getDialogPane().setExpandableContent(details);
        alert.show();
    }

    @Override
    public void stop() {
        if (runner != null) {
            runner.close();
        }
    }
}
