package dev.fusebox.app;

import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreeRow;
import javafx.scene.Node;
import javafx.scene.Parent;
import javafx.scene.control.TextField;
import javafx.scene.control.TreeTableCell;
import javafx.scene.control.TreeTableRow;
import javafx.scene.control.TreeTableView;
import javafx.scene.layout.Region;
import javafx.scene.paint.Color;
import javafx.scene.paint.LinearGradient;
import javafx.scene.paint.Paint;
import javafx.scene.text.Text;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.Start;
import org.testfx.framework.junit5.Stop;
import org.testfx.util.WaitForAsyncUtils;

import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rows and fields read as a user sees them: a counterpart selected in the focused tree, clicked; the filter's
 * placeholder in the dark theme. Contrast is WCAG's: (L1 + 0.05) / (L2 + 0.05) of relative luminances, 4.5 for
 * body text.
 */
class ReadableRowsTest extends WindowTest {

    private static final String W1 = "model.layers.0.block_sparse_moe.experts.1.w1.weight";
    private static final String GATE_UP = "model.layers.0.mlp.experts.gate_up_proj";

    @Start
    void start(Stage stage) {
        showWindow(stage);
    }

    @Stop
    void stop() {
        closeWindow();
    }

    @Test
    void clickingARowSelectedAsACounterpartSelectsItsTensor(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        clickRow(robot, "#legacy-tree", vm.trees().tensorRow(Side.LEGACY, W1).orElseThrow());
        TreeRow gateUp = vm.trees().tensorRow(Side.V5, GATE_UP).orElseThrow();
        assertThat(vm.trees().counterparts()).containsExactly(gateUp);
        clickRow(robot, "#v5-tree", gateUp);
        assertThat(vm.trees().getSelected()).isSameAs(gateUp);
        assertThat(vm.detail().rowProperty().get()).isSameAs(gateUp);
    }

    @Test
    void aCounterpartSelectedInTheFocusedTreeKeepsReadableTextInBothThemes(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        for (boolean dark : new boolean[] {false, true}) {
            robot.interact(() -> vm.darkProperty().set(dark));
            clickRow(robot, "#legacy-tree", vm.trees().tensorRow(Side.LEGACY, W1).orElseThrow());
            TreeTableView<TreeRow> v5 = robot.lookup("#v5-tree").query();
            robot.interact(v5::requestFocus);
            WaitForAsyncUtils.waitForFxEvents();
            TreeTableRow<?> row = robot.lookup("#v5-tree .tree-table-row-cell")
                    .match((TreeTableRow<?> r) -> r.getItem() instanceof TreeRow t && t.path().equals(GATE_UP)).query();
            assertThat(row.isSelected()).isTrue();
            TreeTableCell<?, ?> name = (TreeTableCell<?, ?>) row.lookup(".tree-table-cell");
            assertThat(contrast((Color) name.getTextFill(), background(row)))
                    .as("%s on %s, dark %s", name.getTextFill(), background(row), dark).isGreaterThan(4.5);
        }
    }

    @Test
    void theFilterPlaceholderIsReadableInTheDarkTheme(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.interact(() -> vm.darkProperty().set(true));
        robot.clickOn("#mapping-tab");
        TextField filter = robot.lookup("#mapping-filter").queryAs(TextField.class);
        assertThat(filter.isFocused()).isFalse();
        Text prompt = texts(filter).filter(t -> t.getText().equals(filter.getPromptText())).findFirst().orElseThrow();
        assertThat(contrast((Color) prompt.getFill(), background(filter)))
                .as("%s on %s", prompt.getFill(), background(filter)).isGreaterThan(4.5);
    }

    private static Stream<Text> texts(Node node) {
        return Stream.concat(node instanceof Text t ? Stream.of(t) : Stream.empty(), node instanceof Parent p
                ? p.getChildrenUnmodifiable().stream().flatMap(ReadableRowsTest::texts) : Stream.empty());
    }

    /** The colour painted last, on top, where the text sits (a gradient's, modena's field shading, at its end). */
    private static Color background(Node node) {
        Paint top = ((Region) node).getBackground().getFills().getLast().getFill();
        return top instanceof LinearGradient g ? g.getStops().getLast().getColor() : (Color) top;
    }

    private static double contrast(Color a, Color b) {
        double la = luminance(a);
        double lb = luminance(b);
        return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
    }

    private static double luminance(Color c) {
        return 0.2126 * linear(c.getRed()) + 0.7152 * linear(c.getGreen()) + 0.0722 * linear(c.getBlue());
    }

    private static double linear(double v) {
        return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    }
}
