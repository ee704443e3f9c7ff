package dev.fusebox.app;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.diff.DiffNode;
import dev.fusebox.viewmodel.diff.DiffTrees;
import javafx.css.PseudoClass;
import javafx.scene.Node;
import javafx.scene.control.TreeTableRow;
import javafx.scene.control.TreeTableView;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.Start;
import org.testfx.framework.junit5.Stop;
import org.testfx.util.WaitForAsyncUtils;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The diff screen's coloured trees and per-layer chart: the v5 fixture against a copy with some of layer 1 expert
 * 2's up projection changed shows the path down to it coloured, the rest plain, one hot cell in the chart; a click
 * on that cell selects the expert's parts in both trees, a click on a row its counterpart.
 */
class DiffTreesScreenTest extends WindowTest {

    private static final String W3 = "model.layers.1.block_sparse_moe.experts.2.w3.weight";

    @Start
    void start(Stage stage) {
        showWindow(stage);
    }

    @Stop
    void stop() {
        closeWindow();
    }

    @Test
    void theTreesAreColouredWhereTheCheckpointsDifferAndTheChartSelectsAnExpertInBoth(FxRobot robot)
            throws Exception {
        Path changed = changedCopy();
        openByDrop(robot, Fixtures.tiny("v5-base.float32.safetensors"));
        answers.add(changed);
        robot.clickOn("#compare-button");
        waitUntil(() -> vm.diff().treesProperty().get() != null && !vm.diff().job().isBusy());
        robot.clickOn("#compare-values");
        waitUntil(() -> !vm.diff().cells().isEmpty() && !vm.diff().job().isBusy());

        // Opened down to the layers: the path to the change is coloured, its neighbours not.
        for (String tree : new String[] {"#diff-a-tree", "#diff-b-tree"}) {
            assertThat(state(robot, tree, "model.layers")).isEqualTo("values-differ");
            assertThat(state(robot, tree, "model.embed_tokens")).isEqualTo("same");
            assertThat(state(robot, tree, "model.norm")).isEqualTo("same");
        }

        // A row clicked in A's tree selects, and reveals, what it is in B's.
        robot.clickOn(robot.lookup("#diff-a-tree .tree-table-row-cell").match((TreeTableRow<?> r) ->
                r.getItem() instanceof DiffNode n && n.key().equals("model.embed_tokens")).queryAs(Node.class));
        WaitForAsyncUtils.waitForFxEvents();
        TreeTableView<DiffNode> b = robot.lookup("#diff-b-tree").query();
        assertThat(b.getSelectionModel().getSelectedItems()).extracting(i -> i.getValue().key())
                .containsExactly("model.embed_tokens.weight");
        assertThat(state(robot, "#diff-b-tree", "model.embed_tokens.weight")).isEqualTo("same");

        java.util.Set<Node> cells = robot.lookup(".layer-cell").queryAll();
        assertThat(cells).hasSizeGreaterThan(10);
        assertThat(cells.stream().filter(n -> !n.getPseudoClassStates().contains(PseudoClass.getPseudoClass("heat-0")))
                .map(Node::getId).toList()).containsExactly("cell-1-expert-2");
        robot.clickOn("#cell-1-expert-2");
        WaitForAsyncUtils.waitForFxEvents();
        for (String tree : new String[] {"#diff-a-tree", "#diff-b-tree"}) {
            TreeTableView<DiffNode> t = robot.lookup(tree).query();
            assertThat(t.getSelectionModel().getSelectedItems()).extracting(i -> i.getValue().key())
                    .containsExactlyInAnyOrder(W3.replace("w3", "w1"), W3.replace("w3", "w2"), W3);
        }

        robot.clickOn("#diff-only-differences");
        WaitForAsyncUtils.waitForFxEvents();
        TreeTableView<DiffNode> a = robot.lookup("#diff-a-tree").query();
        DiffTrees trees = vm.diff().treesProperty().get();
        assertThat(a.getRoot().getValue()).isSameAs(trees.a());
        assertThat(a.getRoot().getChildren()).isNotEmpty()
                .allSatisfy(i -> assertThat(i.getValue().differs()).isTrue());
    }

    @Test
    void anAdapterAgainstItsBaseShowsTheWeightsItChangesInItsOwnTab(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("v5-base.float32.safetensors"));
        answers.add(Fixtures.tiny("legacy-lora-experts_gate"));
        robot.clickOn("#compare-button");
        waitUntil(() -> !vm.diff().adapterDeltas().isEmpty() && !vm.diff().job().isBusy());
        WaitForAsyncUtils.waitForFxEvents();
        javafx.scene.control.TabPane below = robot.lookup("#diff-below").query();
        assertThat(below.getSelectionModel().getSelectedItem().getId()).isEqualTo("diff-adapter-tab");
        javafx.scene.control.TableView<?> table = robot.lookup("#diff-adapter-table").query();
        assertThat(table.getItems()).hasSize(26);
        assertThat(robot.lookup("#diff-adapter-table .table-cell").queryAll().stream()
                .map(n -> ((javafx.scene.control.TableCell<?, ?>) n).getText()).toList())
                .contains("model.layers.0.block_sparse_moe.experts.0.w1.weight", "[96, 64]");
    }

    @Test
    void theTwoTreesScrollTogether(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("v5-base.float32.safetensors"));
        answers.add(Fixtures.tiny("legacy-base"));
        robot.clickOn("#compare-button");
        waitUntil(() -> vm.diff().treesProperty().get() != null && !vm.diff().job().isBusy());
        TreeTableView<DiffNode> a = robot.lookup("#diff-a-tree").query();
        TreeTableView<DiffNode> b = robot.lookup("#diff-b-tree").query();
        robot.interact(() -> {
            expandAll(a.getRoot());
            expandAll(b.getRoot());
        });
        WaitForAsyncUtils.waitForFxEvents();
        robot.moveTo(a).scroll(80, javafx.geometry.VerticalDirection.DOWN);
        WaitForAsyncUtils.waitForFxEvents();
        // B, with more rows (the legacy experts one by one), is shown at its end too, not at its top.
        assertThat(b.getExpandedItemCount()).isGreaterThan(a.getExpandedItemCount());
        assertThat(fraction(a)).isGreaterThan(0.9);
        assertThat(fraction(b)).isGreaterThan(0.9);
        robot.moveTo(b).scroll(160, javafx.geometry.VerticalDirection.UP);
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(fraction(a)).isLessThan(0.1);
    }

    @Test
    void aRowClickedInATreeIsLinkedToItsCounterpartsInTheGutter(FxRobot robot) throws Exception {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        answers.add(Fixtures.tiny("v5-base.float32.safetensors"));
        robot.clickOn("#compare-button");
        waitUntil(() -> vm.diff().treesProperty().get() != null && !vm.diff().job().isBusy());
        robot.clickOn(robot.lookup("#diff-a-tree .tree-table-row-cell").match((TreeTableRow<?> r) ->
                r.getItem() instanceof DiffNode n && n.key().equals("model.embed_tokens")).queryAs(Node.class));
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(vm.diff().links()).extracting(l -> l.a().key(), l -> l.b().key())
                .containsExactly(org.assertj.core.groups.Tuple.tuple("model.embed_tokens", "model.embed_tokens.weight"));
        // The curve's ends sit on the two rows: A's selected row on the left edge, B's on the right.
        javafx.scene.layout.Region gutter = robot.lookup("#diff-link-gutter").query();
        double left = rowCenterIn(robot, gutter, "#diff-a-tree", "model.embed_tokens");
        double right = rowCenterIn(robot, gutter, "#diff-b-tree", "model.embed_tokens.weight");
        javafx.scene.image.WritableImage shot = WaitForAsyncUtils.asyncFx(() -> gutter.snapshot(
                new javafx.scene.SnapshotParameters(), null)).get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(drawnNear(shot, 1, left)).as("the curve's end at A's row").isTrue();
        assertThat(drawnNear(shot, (int) shot.getWidth() - 2, right)).as("the curve's end at B's row").isTrue();
        assertThat(drawnNear(shot, 1, left + 40)).as("nothing on the left edge away from the row").isFalse();
        // Clicked in B's tree, a module whose counterparts are many links to the module in A that holds them.
        robot.clickOn(robot.lookup("#diff-b-tree .tree-table-row-cell").match((TreeTableRow<?> r) ->
                r.getItem() instanceof DiffNode n && n.key().equals("model.layers")).queryAs(Node.class));
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(vm.diff().links()).extracting(l -> l.a().key(), l -> l.b().key())
                .containsExactly(org.assertj.core.groups.Tuple.tuple("model.layers", "model.layers"));
    }

    /** The vertical centre of the row of {@code key} in {@code tree}, in {@code gutter}'s coordinates. */
    private static double rowCenterIn(FxRobot robot, Node gutter, String tree, String key) {
        TreeTableRow<?> row = robot.lookup(tree + " .tree-table-row-cell")
                .match((TreeTableRow<?> r) -> r.getItem() instanceof DiffNode n && n.key().equals(key)).query();
        return gutter.sceneToLocal(row.localToScene(row.getBoundsInLocal())).getCenterY();
    }

    /** Whether a saturated (accent-coloured) pixel lies within 2 px of ({@code x}, {@code y}). */
    private static boolean drawnNear(javafx.scene.image.Image shot, int x, double y) {
        for (int dy = -2; dy <= 2; dy++) {
            int py = (int) Math.round(y) + dy;
            if (py < 0 || py >= shot.getHeight()) {
                continue;
            }
            javafx.scene.paint.Color c = shot.getPixelReader().getColor(x, py);
            if (c.getOpacity() > 0.5 && c.getSaturation() > 0.3) {
                return true;
            }
        }
        return false;
    }

    private static void expandAll(javafx.scene.control.TreeItem<DiffNode> item) {
        item.setExpanded(true);
        item.getChildren().forEach(DiffTreesScreenTest::expandAll);
    }

    /** How far down its vertical scroll bar is, 0 at the top, 1 at the end. */
    private static double fraction(TreeTableView<DiffNode> t) {
        javafx.scene.control.ScrollBar bar = t.lookupAll(".scroll-bar").stream()
                .filter(n -> n instanceof javafx.scene.control.ScrollBar s
                        && s.getOrientation() == javafx.geometry.Orientation.VERTICAL)
                .map(javafx.scene.control.ScrollBar.class::cast).findFirst().orElseThrow();
        return (bar.getValue() - bar.getMin()) / (bar.getMax() - bar.getMin());
    }

    /** The pseudo-class of state the row of {@code key} has in {@code tree}. */
    private static String state(FxRobot robot, String tree, String key) {
        TreeTableRow<?> row = robot.lookup(tree + " .tree-table-row-cell")
                .match((TreeTableRow<?> r) -> r.getItem() instanceof DiffNode n && n.key().equals(key)).query();
        return row.getPseudoClassStates().stream().map(PseudoClass::getPseudoClassName)
                .filter(s -> s.equals("same") || s.equals("values-differ") || s.startsWith("only-in")
                        || s.equals("changed"))
                .findFirst().orElse("");
    }

    /** The v5 fixture with 1e-3 added to the first 40 values of layer 1 expert 2's up projection. */
    private Path changedCopy() throws Exception {
        Path out = Files.createDirectories(temp.resolve("changed")).resolve("changed.safetensors");
        Files.copy(Fixtures.tiny("v5-base.float32.safetensors"), out);
        long at;
        try (Checkpoint c = Checkpoint.open(out)) {
            StoredTensor gateUp = c.tensor("model.layers.1.mlp.experts.gate_up_proj").orElseThrow();
            long twoI = gateUp.shape().dim(1);
            long hidden = gateUp.shape().dim(2);
            // Expert 2's block is [2I, H], its up half after its gate half.
            at = gateUp.fileOffset() + (2 * twoI + twoI / 2) * hidden * 4;
        }
        ByteBuffer b = ByteBuffer.allocate(40 * 4).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.read(b, at);
            for (int k = 0; k < 40; k++) {
                b.putFloat(k * 4, b.getFloat(k * 4) + 1e-3f);
            }
            ch.write(b.flip(), at);
        }
        return out;
    }
}
