package dev.fusebox.app;

import dev.fusebox.app.main.MainView;
import dev.fusebox.app.main.MainWindow;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.host.Dialogs;
import dev.fusebox.viewmodel.main.MainViewModel;
import dev.fusebox.viewmodel.main.RecentFiles;
import dev.fusebox.viewmodel.task.FxTaskRunner;
import javafx.scene.Node;
import javafx.scene.control.TreeTableRow;
import javafx.scene.control.TreeTableView;
import javafx.stage.Stage;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.ApplicationExtension;
import org.testfx.util.WaitForAsyncUtils;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The base of the UI tests: the real main window, built as the app builds it, on a view model whose background
 * work runs in real JavaFX tasks; only the file choosers answer from a queue and the recent-files list lives in a
 * temporary directory. TestFX only looks for {@code @Start} and {@code @Stop} among a test class's own methods,
 * so each test class declares them and calls {@link #showWindow} and {@link #closeWindow}.
 */
@ExtendWith(ApplicationExtension.class)
abstract class WindowTest {

    @TempDir
    Path temp;

    protected final Deque<Path> answers = new ArrayDeque<>();
    protected MainViewModel vm;
    protected MainView view;
    protected Stage stage;
    private FxTaskRunner runner;

    protected void showWindow(Stage stage) {
        this.stage = stage;
        runner = new FxTaskRunner();
        Dialogs dialogs = new Dialogs() {
            @Override
            public Optional<Path> chooseCheckpointFile() {
                return Optional.ofNullable(answers.poll());
            }

            @Override
            public Optional<Path> chooseCheckpointFolder() {
                return Optional.ofNullable(answers.poll());
            }

            @Override
            public Optional<Path> chooseCheckpoint(String title) {
                return Optional.ofNullable(answers.poll());
            }

            @Override
            public Optional<Path> chooseOutputFolder(String title, Path suggestion) {
                return Optional.ofNullable(answers.poll());
            }
        };
        vm = new MainViewModel(runner, dialogs, RecentFiles.load(temp.resolve("recent.json")),
                () -> List.of(Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts")),
                RuleBook::bundled);
        view = MainWindow.show(stage, vm);
    }

    protected void closeWindow() {
        vm.close();
        runner.close();
    }

    /** Waits (up to 20 s) for background work to bring about {@code condition}, then for the UI to settle. */
    protected static void waitUntil(BooleanSupplier condition) {
        try {
            WaitForAsyncUtils.waitFor(20, TimeUnit.SECONDS, condition::getAsBoolean);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the window did not get there in 20 s", e);
        }
        WaitForAsyncUtils.waitForFxEvents();
    }

    protected void openByDrop(FxRobot robot, Path... paths) {
        Node target = robot.lookup("#fusebox-main").query();
        robot.interact(() -> FileDrops.drop(target, List.of(paths)));
        waitUntil(() -> vm.getWorkspace() != null && !vm.opening().isBusy());
    }

    /** Scrolls {@code table} to the row of {@code row}, opening its parents, and clicks it as a user would. */
    protected void clickRow(FxRobot robot, String tableId, TreeRow row) {
        TreeTableView<TreeRow> table = robot.lookup(tableId).query();
        robot.interact(() -> {
            var item = find(table.getRoot(), row);
            for (var p = item.getParent(); p != null; p = p.getParent()) {
                p.setExpanded(true);
            }
            table.scrollTo(table.getRow(item));
        });
        WaitForAsyncUtils.waitForFxEvents();
        Node cell = robot.lookup(tableId + " .tree-table-row-cell")
                .match((TreeTableRow<?> r) -> r.getItem() == row).query();
        robot.clickOn(cell);
        WaitForAsyncUtils.waitForFxEvents();
    }

    private static javafx.scene.control.TreeItem<TreeRow> find(javafx.scene.control.TreeItem<TreeRow> item, TreeRow row) {
        if (item.getValue() == row) {
            return item;
        }
        for (var c : item.getChildren()) {
            var f = find(c, row);
            if (f != null) {
                return f;
            }
        }
        return null;
    }
}
