package dev.fusebox.app;

import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.mapping.MappingRow;
import javafx.scene.control.CheckBox;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableCell;
import javafx.scene.control.TreeTableColumn;
import javafx.scene.control.TreeTableView;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.Start;
import org.testfx.framework.junit5.Stop;
import org.testfx.util.WaitForAsyncUtils;

import java.util.Comparator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The mapping table as a user reads it: sorted by a column, a cell too narrow for its text. */
class MappingTableTest extends WindowTest {

    @Start
    void start(Stage stage) {
        showWindow(stage);
    }

    @Stop
    void stop() {
        closeWindow();
    }

    @SuppressWarnings("unchecked")
    private TreeTableView<Object> table(FxRobot robot) {
        return robot.lookup("#mapping-table").queryAs(TreeTableView.class);
    }

    @Test
    void sortingByBytesSortsTheRowsBySizeNotByTheirText(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.clickOn("#mapping-tab");
        robot.clickOn(robot.lookup("#group-by-layer").queryAs(CheckBox.class));
        WaitForAsyncUtils.waitForFxEvents();
        TreeTableView<Object> table = table(robot);
        // What clicking the column's header does.
        robot.interact(() -> table.getSortOrder().setAll(java.util.List.of(table.getColumns().getLast())));
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(table.getSortOrder()).extracting(TreeTableColumn::getText).containsExactly("Bytes");
        List<Long> bytes = table.getRoot().getChildren().stream().map(TreeItem::getValue)
                .map(r -> ((MappingRow) r).bytes()).toList();
        // 21 rows from 256 B (a norm) to 192 KiB (a fused gate_up_proj): as text "8.00 KiB" would follow "64.0 KiB".
        assertThat(bytes).hasSize(21).isSortedAccordingTo(Comparator.naturalOrder());
        assertThat(bytes.getFirst()).isLessThan(bytes.getLast());
    }

    @Test
    void aShapeTooLongForItsColumnShowsInFullInATooltip(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.clickOn("#mapping-tab");
        TreeTableView<Object> table = table(robot);
        TreeTableColumn<Object, ?> shape = table.getColumns().get(1);
        robot.interact(() -> {
            table.setColumnResizePolicy(TreeTableView.UNCONSTRAINED_RESIZE_POLICY);
            shape.setPrefWidth(40);
        });
        WaitForAsyncUtils.waitForFxEvents();
        TreeTableCell<?, ?> fused = robot.lookup("#mapping-table .tree-table-cell")
                .match((TreeTableCell<?, ?> c) -> shape.equals(c.getTableColumn()) && "[4, 192, 64]".equals(c.getText()))
                .query();
        assertThat(fused.isTextTruncated()).isTrue();
        assertThat(fused.getTooltip()).isNotNull();
        assertThat(fused.getTooltip().getText()).isEqualTo("[4, 192, 64]");
        robot.interact(() -> shape.setPrefWidth(200));
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(fused.isTextTruncated()).isFalse();
        assertThat(fused.getTooltip()).isNull();
    }
}
