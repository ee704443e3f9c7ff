package dev.fusebox.app;

import dev.fusebox.converter.forward.VerificationReport;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.main.Screen;
import dev.fusebox.viewmodel.mapping.MappingRow;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.TableView;
import javafx.scene.control.TreeTableView;
import javafx.scene.input.KeyCode;
import javafx.scene.layout.VBox;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.Start;
import org.testfx.framework.junit5.Stop;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The window driven as a user would: select and see the counterpart, filter, convert, verify; the bundled sample's
 * pair (a legacy base and its LoRA adapter) mapped, converted and verified together.
 */
class ScreensTest extends WindowTest {

    @Start
    void start(Stage stage) {
        showWindow(stage);
    }

    @Stop
    void stop() {
        closeWindow();
    }

    @Test
    void selectingAnExpertsW1SelectsItsSliceOfTheFusedTensorOnTheOtherSide(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        TreeRow w1 = vm.trees().tensorRow(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.1.w1.weight")
                .orElseThrow();
        clickRow(robot, "#legacy-tree", w1);
        TreeTableView<TreeRow> v5 = robot.lookup("#v5-tree").query();
        assertThat(v5.getSelectionModel().getSelectedItems()).extracting(i -> i.getValue().path())
                .containsExactly("model.layers.0.mlp.experts.gate_up_proj");
        // The counterpart is on screen, badged with where w1 lands.
        assertThat(robot.lookup("#v5-tree .tree-table-cell").queryAllAs(javafx.scene.control.Labeled.class))
                .anyMatch(c -> "gate_up_proj  [1, 0:96, :]".equals(c.getText()));
        assertThat(vm.trees().links()).hasSize(1);
    }

    @Test
    void selectingTheFusedTensorSelectsTheEightLegacyTensorsItComesFrom(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        TreeRow fused = vm.trees().tensorRow(Side.V5, "model.layers.1.mlp.experts.gate_up_proj").orElseThrow();
        clickRow(robot, "#v5-tree", fused);
        TreeTableView<TreeRow> legacy = robot.lookup("#legacy-tree").query();
        assertThat(legacy.getSelectionModel().getSelectedItems()).hasSize(8)
                .allSatisfy(i -> assertThat(i.getValue().name()).isEqualTo("weight"));
    }

    @Test
    void typingInTheFilterNarrowsTheMappingTable(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.clickOn("#mapping-tab");
        robot.clickOn("#mapping-filter").write("down_proj");
        waitUntil(() -> vm.mapping().shownRows().size() == 2);
        TreeTableView<?> table = robot.lookup("#mapping-table").queryAs(TreeTableView.class);
        // Two layer groups, one row each.
        assertThat(table.getRoot().getChildren()).hasSize(2)
                .allSatisfy(g -> assertThat(g.getChildren()).hasSize(1));
        assertThat(robot.lookup("#mapping-shown").queryAs(Label.class).getText()).isEqualTo("2 of 21 tensors");
        robot.clickOn(robot.lookup("#mapping-table .tree-table-row-cell").match((javafx.scene.control.TreeTableRow<?> r) ->
                r.getItem() instanceof MappingRow m && m.targetKey().equals("model.layers.0.mlp.experts.down_proj"))
                .queryAs(javafx.scene.Node.class));
        assertThat(vm.mapping().diagramProperty().get().targetKey()).isEqualTo("model.layers.0.mlp.experts.down_proj");
    }

    @Test
    void findActsOnTheScreenShownSearchingBothTreesOnTheModelScreenAndFilteringTheMappingTable(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.press(KeyCode.CONTROL, KeyCode.F).release(KeyCode.F, KeyCode.CONTROL);
        waitUntil(() -> robot.lookup("#tree-search").query().isFocused());
        assertThat(vm.screenProperty().get()).isEqualTo(Screen.MODEL);
        robot.write("layers.1.mlp.experts");
        waitUntil(() -> "1 of 4".equals(robot.lookup("#tree-search-status").queryAs(Label.class).getText()));
        TreeTableView<TreeRow> v5 = robot.lookup("#v5-tree").query();
        assertThat(v5.getSelectionModel().getSelectedItem().getValue().path()).isEqualTo("model.layers.1.mlp.experts");
        robot.type(KeyCode.ENTER);
        waitUntil(() -> vm.trees().getSelected().path().equals("model.layers.1.mlp.experts.gate_up_proj"));
        TreeTableView<TreeRow> legacy = robot.lookup("#legacy-tree").query();
        assertThat(legacy.getSelectionModel().getSelectedItems()).hasSize(8);
        robot.clickOn("#tree-search-previous");
        waitUntil(() -> vm.trees().getSelected().path().equals("model.layers.1.mlp.experts"));

        robot.clickOn("#mapping-tab");
        robot.press(KeyCode.CONTROL, KeyCode.F).release(KeyCode.F, KeyCode.CONTROL);
        waitUntil(() -> robot.lookup("#mapping-filter").query().isFocused());
        assertThat(vm.screenProperty().get()).isEqualTo(Screen.MAPPING);
        robot.write("gate_up");
        waitUntil(() -> vm.mapping().shownRows().size() == 2);
    }

    @Test
    void convertingTheTinyFixtureShowsProgressUpTo100PercentThenOffersVerifyAndOpen(FxRobot robot) throws Exception {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        Path out = Files.createDirectories(temp.resolve("out"));
        answers.add(out);
        robot.clickOn("#convert-tab");
        robot.clickOn("#convert-action");
        waitUntil(() -> !vm.convert().outputs().isEmpty());
        assertThat(robot.lookup("#convert-progress").queryAs(ProgressBar.class).getProgress()).isEqualTo(1.0);
        assertThat(robot.lookup("#convert-percent").queryAs(Label.class).getText()).isEqualTo("100 %");
        assertThat(robot.lookup("#convert-outcome").queryAs(Label.class).getText())
                .startsWith("Wrote 21 tensors, 803 KiB, to " + out.resolve("legacy-base-v5"));
        assertThat(Files.isRegularFile(out.resolve("legacy-base-v5/model.safetensors"))).isTrue();
        assertThat(robot.lookup("#verify-output").query().isVisible()).isTrue();
        robot.clickOn("#verify-output");
        waitUntil(() -> vm.verify().passedProperty().get() != null);
        assertThat(vm.verify().passedProperty().get()).isTrue();
        assertThat(vm.screenProperty().get()).isEqualTo(Screen.VERIFY);
    }

    @Test
    void verifyingBeforeConvertingRunsBothSidesAndPasses(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.clickOn("#verify-tab");
        robot.clickOn("#verify-action");
        waitUntil(() -> vm.verify().passedProperty().get() != null);
        assertThat(robot.lookup("#verify-verdict").queryAs(Label.class).getText()).startsWith("Passed: ");
        TableView<?> positions = robot.lookup("#positions-table").queryAs(TableView.class);
        assertThat(positions.getItems()).hasSize(16);
        assertThat(robot.lookup("#verify-checks").queryAs(Label.class).getText())
                .isEqualTo("Checks run: forward pass and expert check");
        assertThat(robot.lookup("#experts-table").queryAs(TableView.class).getItems().size()).isEqualTo(8);
        assertThat(robot.lookup("#verify-progress").queryAs(ProgressBar.class).getProgress()).isEqualTo(1.0);
    }

    @Test
    void droppingOnConvertToV5OpensAndConverts(FxRobot robot) throws Exception {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.clickOn("#convert-tab");
        Path out = Files.createDirectories(temp.resolve("dropped"));
        answers.add(out);
        javafx.scene.Node zone = robot.lookup("#drop-to-v5").query();
        robot.interact(() -> FileDrops.drop(zone, java.util.List.of(Fixtures.tiny("legacy-base"))));
        waitUntil(() -> !vm.convert().outputs().isEmpty());
        assertThat(vm.convert().outputs()).containsExactly(out.resolve("legacy-base-v5"));
    }

    @Test
    void comparingWithTheV5FixtureFindsTheSameLayout(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        answers.add(Fixtures.tiny("v5-base.float32.safetensors"));
        robot.clickOn("#compare-button");
        waitUntil(() -> vm.diff().reportProperty().get() != null);
        assertThat(robot.lookup("#diff-summary").queryAs(Label.class).getText()).startsWith("Same layout: 41 tensors agree");
    }

    @Test
    void theMappingScreenShowsThePeftCheckOnTopAndTheAdaptersTargets(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        robot.clickOn("#mapping-tab");
        VBox messages = robot.lookup("#mapping-messages").queryAs(VBox.class);
        assertThat(messages.getChildren()).first().satisfies(n -> {
            assertThat(((Label) n).getText()).startsWith("PEFT check: PEFT 0.21 would convert and load it exactly");
            assertThat(n.getStyleClass()).contains("peft-fine");
        });
        robot.clickOn("#mapping-filter").write("adapter lora_B");
        waitUntil(() -> vm.mapping().shownRows().size() == 12);
        TreeTableView<?> table = robot.lookup("#mapping-table").queryAs(TreeTableView.class);
        assertThat(table.getRoot().getChildren()).hasSize(2);
    }

    @Test
    void convertingTheSampleWritesTheAdapterBesideTheBaseAndVerifyAppliesItOnBothSides(FxRobot robot)
            throws Exception {
        openByDrop(robot, Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        Path out = Files.createDirectories(temp.resolve("out"));
        answers.add(out);
        robot.clickOn("#convert-tab");
        assertThat(robot.lookup("#convert-description").queryAs(Label.class).getText())
                .contains("as legacy-lora-attn_experts-v5");
        robot.clickOn("#convert-action");
        waitUntil(() -> vm.convert().outputs().size() == 2);
        assertThat(Files.isRegularFile(out.resolve("legacy-lora-attn_experts-v5/adapter_model.safetensors"))).isTrue();
        assertThat(robot.lookup("#convert-outcome").queryAs(Label.class).getText())
                .contains("Wrote 24 tensors, 98.0 KiB, to " + out.resolve("legacy-lora-attn_experts-v5"));
        robot.clickOn("#verify-output");
        waitUntil(() -> vm.verify().passedProperty().get() != null);
        assertThat(vm.screenProperty().get()).isEqualTo(Screen.VERIFY);
        assertThat(robot.lookup("#verify-verdict").queryAs(Label.class).getText()).startsWith("Passed: ");
        VerificationReport r = vm.verify().reportProperty().get();
        assertThat(r.source().adapter()).isPresent();
        assertThat(r.converted().adapter()).contains(out.resolve("legacy-lora-attn_experts-v5"));
    }

    @Test
    void convertsOptionsMergeTheAdapterAndSplitShardsAndVerifysRunTheTokensAndLayersTyped(FxRobot robot)
            throws Exception {
        openByDrop(robot, Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-attn_experts"));
        Path out = Files.createDirectories(temp.resolve("out"));
        answers.add(out);
        robot.clickOn("#convert-tab");
        assertThat(robot.lookup("#convert-dequantize").query().isVisible()).isFalse();
        robot.clickOn("#convert-merge");
        assertThat(robot.lookup("#convert-description").queryAs(Label.class).getText())
                .endsWith("as legacy-base-merged-v5");
        assertThat(robot.lookup("#convert-dtype").query().getParent().isVisible()).isFalse();
        robot.doubleClickOn("#convert-shard-size").eraseText(3).write("x");
        waitUntil(() -> robot.lookup("#convert-options-problem").query().isVisible());
        assertThat(robot.lookup("#convert-action").query().isDisabled()).isTrue();
        robot.interact(() -> robot.lookup("#convert-shard-size").queryAs(javafx.scene.control.TextField.class)
                .setText(""));
        robot.clickOn("#convert-shard-size").write("300KiB");
        waitUntil(() -> !robot.lookup("#convert-action").query().isDisabled());
        robot.clickOn("#convert-action");
        waitUntil(() -> !vm.convert().outputs().isEmpty());
        assertThat(vm.convert().outputs()).containsExactly(out.resolve("legacy-base-merged-v5"));
        assertThat(out.resolve("legacy-base-merged-v5/model.safetensors.index.json")).isRegularFile();

        robot.clickOn("#verify-tab");
        robot.clickOn("#verify-tokens").write("1, 5, 9");
        robot.clickOn("#verify-layers").write("1");
        robot.clickOn("#verify-action");
        waitUntil(() -> vm.verify().passedProperty().get() != null);
        VerificationReport r = vm.verify().reportProperty().get();
        assertThat(r.tokens()).containsExactly(1, 5, 9);
        assertThat(r.layersRun()).isEqualTo(1);
        assertThat(robot.lookup("#positions-table").queryAs(TableView.class).getItems().size()).isEqualTo(3);
    }

    /** Where {@code node} lies in the scene. */
    private static javafx.geometry.Bounds inScene(javafx.scene.Node node) {
        return node.localToScene(node.getBoundsInLocal());
    }

    @Test
    void aNoticeTakesItsOwnRoomBelowTheScreensCoveringNoDropZoneNorChart(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.clickOn("#convert-tab");
        robot.interact(() -> vm.notify(dev.fusebox.viewmodel.main.Notice.Kind.ERROR, "A notice long enough to "
                + "wrap: " + "the conversion needs 87.0 GiB free there, and its file system has 64.0 MiB. ".repeat(4)));
        javafx.scene.Node bar = robot.lookup("#notice-bar").query();
        waitUntil(() -> bar.isVisible() && bar.getLayoutBounds().getHeight() > 0);
        robot.interact(() -> { });
        for (String id : java.util.List.of("#drop-to-v5", "#drop-to-legacy")) {
            javafx.scene.Node zone = robot.lookup(id).query();
            assertThat(inScene(zone).getMaxY()).as(id + " above the notice").isLessThanOrEqualTo(inScene(bar).getMinY());
            assertThat(inScene(zone).getHeight()).as(id).isGreaterThan(40);
        }
        robot.clickOn("#verify-tab");
        robot.clickOn("#verify-action");
        waitUntil(() -> vm.verify().passedProperty().get() != null);
        robot.interact(() -> vm.notify(dev.fusebox.viewmodel.main.Notice.Kind.ERROR, "Another notice."));
        robot.interact(() -> { });
        javafx.scene.Node chart = robot.lookup("#layer-chart").query();
        assertThat(inScene(chart).getMaxY()).as("the layer chart above the notice")
                .isLessThanOrEqualTo(inScene(bar).getMinY());
        robot.clickOn("#notice-close");
        waitUntil(() -> vm.noticeProperty().get() == null && !bar.isVisible());
    }

    @Test
    void theTreesDetailSplitterMovesOverMostOfTheScreenAndTheTreesStartWithRoomForSixteenRows(FxRobot robot) {
        robot.interact(() -> stage.setHeight(768));
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        clickRow(robot, "#legacy-tree", vm.trees().tensorRow(Side.LEGACY,
                "model.layers.0.block_sparse_moe.experts.1.w3.weight").orElseThrow());
        robot.clickOn("#compute-statistics");
        waitUntil(() -> vm.detail().statisticsProperty().get() != null);
        javafx.scene.control.SplitPane split = robot.lookup("#model-view").query();
        TreeTableView<TreeRow> tree = robot.lookup("#legacy-tree").query();
        double rowHeight = robot.lookup("#legacy-tree .tree-table-row-cell").queryAs(javafx.scene.layout.Region.class)
                .getHeight();
        double atStart = tree.getHeight();
        robot.interact(() -> split.setDividerPositions(0.98));
        robot.interact(() -> { });
        double tallest = tree.getHeight();
        robot.interact(() -> split.setDividerPositions(0.02));
        robot.interact(() -> { });
        double shortest = tree.getHeight();
        assertThat(atStart / rowHeight).as("rows the trees show at first").isGreaterThanOrEqualTo(16);
        assertThat(tallest - shortest).as("how far the splitter moves").isGreaterThan(split.getHeight() * 0.75);
    }

    @Test
    void aTreeRowsContextMenuCopiesItsKeyModulePathAndShapeAndTheTreeCountsParameters(FxRobot robot) throws Exception {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        TreeRow w3 = vm.trees().tensorRow(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.1.w3.weight")
                .orElseThrow();
        clickRow(robot, "#legacy-tree", w3);
        javafx.scene.Node row = robot.lookup("#legacy-tree .tree-table-row-cell").match(
                (javafx.scene.control.TreeTableRow<TreeRow> r) -> r.getItem() == w3).query();
        for (String[] copy : new String[][] {{"Copy key", w3.path()},
                {"Copy module path", "model.layers.0.block_sparse_moe.experts.1.w3"}, {"Copy shape", "[96, 64]"}}) {
            robot.rightClickOn(row);
            robot.clickOn(copy[0]);
            String copied = org.testfx.util.WaitForAsyncUtils.asyncFx(
                    () -> javafx.scene.input.Clipboard.getSystemClipboard().getString()).get(10,
                    java.util.concurrent.TimeUnit.SECONDS);
            assertThat(copied).as(copy[0]).isEqualTo(copy[1]);
        }
        assertThat(robot.lookup("#legacy-tree .tree-table-row-cell .tree-table-cell").match(
                (javafx.scene.control.TreeTableCell<?, ?> c) -> c.getTableRow() != null
                        && c.getTableRow().getItem() == w3 && "6.14 K".equals(c.getText())).tryQuery()).isPresent();
    }
}
