package dev.fusebox.app;

import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreeRow;
import javafx.scene.control.TreeTablePosition;
import javafx.scene.control.TreeTableView;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.Start;
import org.testfx.framework.junit5.Stop;
import org.testfx.util.WaitForAsyncUtils;

import java.lang.ref.WeakReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Closing a model lets its rows go: each row reaches its whole tree and its files' entries (171 k rows and 92 k
 * entries for a DeepSeek-V3-FP8, 56 MB of heap), so a table cell that kept the last row it showed kept them all.
 */
class CloseReleasesTest extends WindowTest {

    @Start
    void start(Stage stage) {
        showWindow(stage);
    }

    @Stop
    void stop() {
        closeWindow();
    }

    @Test
    void afterCloseNoRowOfTheClosedModelIsReachable(FxRobot robot) throws InterruptedException {
        // Selected without the robot's clicks: TestFX keeps every event it fires, and with them the cells they hit.
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.interact(() -> vm.reveal("model.layers.0.block_sparse_moe.experts.1.w1.weight"));
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(vm.trees().counterparts()).isNotEmpty();
        WeakReference<TreeRow> legacy = new WeakReference<>(vm.trees().rootProperty(Side.LEGACY).get());
        WeakReference<TreeRow> v5 = new WeakReference<>(vm.trees().rootProperty(Side.V5).get());
        robot.interact(vm::close);
        WaitForAsyncUtils.waitForFxEvents();
        // Collections are asked for until the rows are gone (a few suffice); rows still held never go.
        for (int i = 0; i < 50 && (legacy.get() != null || v5.get() != null); i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(legacy.get()).as("the legacy tree's root").isNull();
        assertThat(v5.get()).as("the v5 tree's root").isNull();
    }

    @Test
    void aClickedRowIsNotKeptAsTheTablesSelectionAnchorAfterClose(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        clickRow(robot, "#legacy-tree", vm.trees().tensorRow(Side.LEGACY,
                "model.layers.0.block_sparse_moe.experts.1.w1.weight").orElseThrow());
        TreeTableView<?> table = robot.lookup("#legacy-tree").queryAs(TreeTableView.class);
        assertThat(table.getProperties().values()).anyMatch(v -> v instanceof TreeTablePosition);
        robot.interact(vm::close);
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(table.getProperties().values()).noneMatch(v -> v instanceof TreeTablePosition);
    }
}
