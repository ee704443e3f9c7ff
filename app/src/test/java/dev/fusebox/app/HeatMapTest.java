package dev.fusebox.app;

import dev.fusebox.app.chart.HeatMapChart;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.detail.HeatMapLayout;
import dev.fusebox.viewmodel.detail.TensorDetailViewModel;
import javafx.geometry.Point2D;
import javafx.geometry.Rectangle2D;
import javafx.scene.SnapshotParameters;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.image.PixelReader;
import javafx.scene.image.WritableImage;
import javafx.scene.paint.Color;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.Start;
import org.testfx.framework.junit5.Stop;
import org.testfx.util.WaitForAsyncUtils;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The heat map of a fused tensor that only Convert would write: values read through the plan, a colour legend,
 * the value under the pointer, and lines where w3 begins in an expert and where each expert begins.
 */
class HeatMapTest extends WindowTest {

    private static final String GATE_UP = "model.layers.0.mlp.experts.gate_up_proj";

    @Start
    void start(Stage stage) {
        showWindow(stage);
    }

    @Stop
    void stop() {
        closeWindow();
    }

    private HeatMapChart showGateUp(FxRobot robot) {
        robot.interact(() -> stage.setHeight(900));
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        clickRow(robot, "#v5-tree", vm.trees().tensorRow(Side.V5, GATE_UP).orElseThrow());
        robot.clickOn("#compute-statistics");
        waitUntil(() -> vm.detail().layoutProperty().get() != null);
        robot.interact(() -> { });
        return robot.lookup("#heat-map").queryAs(HeatMapChart.class);
    }

    @Test
    void theHeatMapOfATensorNotYetWrittenHasALegendAndSaysWhatIsUnderThePointer(FxRobot robot) {
        HeatMapChart chart = showGateUp(robot);
        assertThat(robot.lookup("#heat-map-legend").query().isVisible()).isTrue();
        TensorDetailViewModel.Legend legend = vm.detail().legendProperty().get();
        assertThat(robot.lookup("#heat-map-legend-low").queryAs(Label.class).getText()).isEqualTo(legend.low())
                .startsWith("-");
        assertThat(robot.lookup("#heat-map-legend-high").queryAs(Label.class).getText()).isEqualTo(legend.high());
        assertThat(robot.lookup("#heat-map-scale").query().getBoundsInLocal().getWidth()).isGreaterThan(30);

        // Just below the w3 line: a cell of w3 of expert 0.
        Rectangle2D area = chart.mapArea().orElseThrow();
        HeatMapLayout.Mark w3 = vm.detail().layoutProperty().get().rowMarks().getFirst();
        Point2D below = chart.canvas().localToScreen(area.getMinX() + area.getWidth() / 2,
                chart.rowMarkPixel(w3) + 3);
        robot.moveTo(below);
        WaitForAsyncUtils.waitForFxEvents();
        String hover = robot.lookup("#heat-map-hover").queryAs(Label.class).getText();
        assertThat(hover).matches("rows 9\\d–\\d+ · cols? \\d+(–\\d+)? · 0\\.w3 · mean -?\\d\\.\\d+(e-?\\d+)?");
        robot.moveTo(chart.canvas().localToScreen(area.getMinX() + area.getWidth() / 2, area.getMinY() + 2));
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(robot.lookup("#heat-map-hover").queryAs(Label.class).getText()).contains("0.w1");
    }

    @Test
    void lineMarksWhereW3BeginsAndWithAllCheckedWhereEachExpertBegins(FxRobot robot) throws Exception {
        HeatMapChart chart = showGateUp(robot);
        HeatMapLayout.Mark w3 = vm.detail().layoutProperty().get().rowMarks().getFirst();
        assertThat(w3.at()).isEqualTo(96);
        assertThat(isLine(chart, chart.rowMarkPixel(w3))).as("a line across the map where w3 begins").isTrue();
        assertThat(isLine(chart, chart.rowMarkPixel(w3) - 3)).as("the cells above it").isFalse();

        robot.clickOn("#heat-map-whole");
        assertThat(robot.lookup("#heat-map-whole").queryAs(CheckBox.class).isSelected()).isTrue();
        waitUntil(() -> vm.detail().layoutProperty().get() != null
                && vm.detail().layoutProperty().get().heatMap().sourceRows() == 4 * 192);
        robot.interact(() -> { });
        List<HeatMapLayout.Mark> marks = vm.detail().layoutProperty().get().rowMarks();
        assertThat(marks).filteredOn(m -> m.kind() == HeatMapLayout.Kind.SLICE).extracting(HeatMapLayout.Mark::at)
                .containsExactly(192L, 384L, 576L);
        for (HeatMapLayout.Mark m : marks) {
            assertThat(isLine(chart, chart.rowMarkPixel(m))).as("a line at row " + m.at()).isTrue();
        }
        Color expert = colourOn(chart, chart.rowMarkPixel(marks.get(1)));
        Color part = colourOn(chart, chart.rowMarkPixel(marks.get(0)));
        assertThat(expert).as("experts' lines and w3's are told apart").isNotEqualTo(part);
    }

    /** Whether canvas row {@code y} is one colour across the middle of the map (a line, not cells of values). */
    private static boolean isLine(HeatMapChart chart, int y) throws Exception {
        Rectangle2D a = chart.mapArea().orElseThrow();
        PixelReader px = snapshot(chart).getPixelReader();
        Set<Color> seen = new HashSet<>();
        for (int x = (int) a.getMinX() + 2; x < a.getMaxX() - 2; x++) {
            seen.add(px.getColor(x, y));
        }
        return seen.size() == 1;
    }

    private static Color colourOn(HeatMapChart chart, int y) throws Exception {
        Rectangle2D a = chart.mapArea().orElseThrow();
        return snapshot(chart).getPixelReader().getColor((int) (a.getMinX() + a.getWidth() / 2), y);
    }

    private static WritableImage snapshot(HeatMapChart chart) throws Exception {
        return WaitForAsyncUtils.asyncFx(() -> chart.canvas().snapshot(new SnapshotParameters(), null))
                .get(10, TimeUnit.SECONDS);
    }
}
