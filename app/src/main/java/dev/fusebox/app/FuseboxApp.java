package dev.fusebox.app;

import dev.fusebox.app.main.FxDialogs;
import dev.fusebox.app.main.MainWindow;
import dev.fusebox.app.sample.BundledSample;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.RecentFiles;
import dev.fusebox.viewmodel.main.Screen;
import dev.fusebox.viewmodel.task.FxTaskRunner;
import javafx.application.Application;
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
 * given on the command line, or the bundled sample when there are none. A few system properties pick what shows
 * first (docs/screenshots.sh uses them): {@code fusebox.screen} (model, mapping, convert, verify, diff),
 * {@code fusebox.theme} (light, dark), {@code fusebox.select} (a tensor key to select once open) and
 * {@code fusebox.statistics} (true: compute the selected tensor's statistics).
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
        MainWindow.show(stage, vm);
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> Platform.runLater(() -> showUnexpected(stage, e)));

        String select = System.getProperty("fusebox.select");
        if (select != null && !select.isBlank()) {
            vm.analysisProperty().addListener(new javafx.beans.InvalidationListener() {
                @Override
                public void invalidated(javafx.beans.Observable o) {
                    vm.analysisProperty().removeListener(this);
                    if (vm.reveal(select.strip()) && Boolean.getBoolean("fusebox.statistics")) {
                        vm.detail().computeStatistics();
                    }
                }
            });
        }
        List<Path> paths = getParameters().getRaw().stream().map(Path::of).toList();
        if (paths.isEmpty()) {
            vm.openSample();
        } else {
            vm.open(paths);
        }
        String screen = System.getProperty("fusebox.screen");
        if (screen != null && !screen.isBlank()) {
            try {
                vm.screenProperty().set(Screen.valueOf(screen.strip().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                System.err.println("fusebox: fusebox.screen=" + screen + " names no screen; showing the model.");
            }
        }
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
