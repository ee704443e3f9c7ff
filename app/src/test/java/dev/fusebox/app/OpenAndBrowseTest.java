package dev.fusebox.app;

import dev.fusebox.app.chart.ChartCanvas;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.main.Notice;
import javafx.scene.SnapshotParameters;
import javafx.scene.control.Label;
import javafx.scene.control.TreeTableView;
import javafx.scene.image.WritableImage;
import javafx.scene.input.KeyCode;
import javafx.scene.layout.Region;
import javafx.scene.paint.Color;
import org.junit.jupiter.api.Test;
import javafx.stage.Stage;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.Start;
import org.testfx.framework.junit5.Stop;
import org.testfx.util.WaitForAsyncUtils;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class OpenAndBrowseTest extends WindowTest {

    @Start
    void start(Stage stage) {
        showWindow(stage);
    }

    @Stop
    void stop() {
        closeWindow();
    }

    @Test
    void droppingACheckpointFolderOnTheWindowOpensIt(FxRobot robot) {
        assertThat(stage.getTitle()).isEqualTo("Fusebox");
        assertThat(robot.lookup("#welcome").query().isVisible()).isTrue();
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        assertThat(stage.getTitle()).isEqualTo("Fusebox — mixtral · legacy-base");
        assertThat(robot.lookup("#welcome").query().isVisible()).isFalse();
        TreeTableView<?> tree = robot.lookup("#legacy-tree").queryAs(TreeTableView.class);
        assertThat(tree.getRoot().getValue()).extracting(r -> ((TreeRow) r).name()).isEqualTo("MixtralForCausalLM");
        assertThat(robot.lookup("#legacy-caption").queryAs(Label.class).getText()).isEqualTo("opened: legacy-base");
        assertThat(vm.recentFiles()).containsExactly(Fixtures.tiny("legacy-base"));
    }

    @Test
    void aSelectedRowsLinkIsDrawnAndTheWindowThenGoesQuiet(FxRobot robot) throws Exception {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        TreeRow w3 = vm.trees().tensorRow(Side.LEGACY, "model.layers.0.block_sparse_moe.experts.1.w3.weight")
                .orElseThrow();
        clickRow(robot, "#legacy-tree", w3);
        assertThat(vm.trees().links()).isNotEmpty();
        Region gutter = robot.lookup("#link-gutter").query();
        WritableImage shot = WaitForAsyncUtils.asyncFx(() -> gutter.snapshot(new SnapshotParameters(), null))
                .get(10, TimeUnit.SECONDS);
        long drawn = 0;
        for (int y = 0; y < shot.getHeight(); y++) {
            for (int x = 0; x < shot.getWidth(); x++) {
                Color c = shot.getPixelReader().getColor(x, y);
                if (c.getOpacity() > 0.5 && c.getSaturation() > 0.3) {
                    drawn++;
                }
            }
        }
        assertThat(drawn).as("pixels of the link's curve").isGreaterThan(20);
        // Once nothing moves, no more painting: the gutter used to repaint after every layout pass, and each repaint
        // asked for the next pass, about 60 a second for as long as the window was open. Layout passes forced with
        // nothing changed must paint nothing and leave no pass pending.
        ChartCanvas chart = (ChartCanvas) gutter;
        long extra = WaitForAsyncUtils.asyncFx(() -> {
            long before = chart.paints();
            for (int pass = 0; pass < 3; pass++) {
                chart.requestLayout();
                chart.layout();
            }
            return chart.paints() - before;
        }).get(10, TimeUnit.SECONDS);
        assertThat(extra).as("paints in three layout passes with nothing moving").isZero();
        assertThat(WaitForAsyncUtils.asyncFx(chart::isNeedsLayout).get(10, TimeUnit.SECONDS))
                .as("a layout pass asked for after the last one").isFalse();
    }

    @Test
    void theWindowCarriesTheAppIconInEverySize() {
        assertThat(stage.getIcons()).extracting(i -> (int) i.getWidth())
                .containsExactly(16, 24, 32, 48, 64, 128, 256, 512);
        assertThat(stage.getIcons()).allSatisfy(i -> assertThat(i.isError()).isFalse());
    }

    @Test
    void droppingAnAdapterFolderBringsItsBaseAndShowsLoraTensorsUnderTheirModules(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-lora-attn_experts"));
        assertThat(stage.getTitle()).isEqualTo("Fusebox — mixtral · legacy-base + legacy-lora-attn_experts");
        TreeRow w1 = vm.trees().tensorRow(Side.LEGACY,
                "base_model.model.model.layers.0.block_sparse_moe.experts.0.w1.lora_A.weight").orElseThrow();
        assertThat(w1.parent().orElseThrow().path()).isEqualTo("model.layers.0.block_sparse_moe.experts.0.w1");
    }

    @Test
    void selectingATensorAndComputingItsStatisticsDrawsItsHistogram(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        TreeRow w2 = vm.trees().tensorRow(Side.LEGACY, "model.layers.1.block_sparse_moe.experts.2.w2.weight")
                .orElseThrow();
        clickRow(robot, "#legacy-tree", w2);
        assertThat(robot.lookup("#detail-title").queryAs(Label.class).getText())
                .isEqualTo("model.layers.1.block_sparse_moe.experts.2.w2.weight");
        robot.clickOn("#compute-statistics");
        waitUntil(() -> vm.detail().statisticsProperty().get() != null);
        assertThat(robot.lookup("#statistics-facts .fact-name").queryAll()).hasSize(5);
        assertThat(vm.detail().statisticsProperty().get().count()).isEqualTo(64 * 96);
    }

    @Test
    void aFileThatIsNoCheckpointShowsAReadableError(FxRobot robot) throws Exception {
        Path notes = Files.writeString(temp.resolve("notes.txt"), "not a checkpoint");
        javafx.scene.Node window = robot.lookup("#fusebox-main").query();
        robot.interact(() -> FileDrops.drop(window, java.util.List.of(notes)));
        waitUntil(() -> vm.noticeProperty().get() != null);
        assertThat(vm.noticeProperty().get().kind()).isEqualTo(Notice.Kind.ERROR);
        assertThat(view.notifications().isShowing()).isTrue();
        assertThat(view.notifications().getText()).contains("notes.txt").contains("is neither a checkpoint directory");
    }

    @Test
    void aRecentFileReopensFromTheFileMenuAfterClosing(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.press(KeyCode.CONTROL, KeyCode.W).release(KeyCode.W, KeyCode.CONTROL);
        waitUntil(() -> vm.getWorkspace() == null);
        assertThat(stage.getTitle()).isEqualTo("Fusebox");
        robot.clickOn("File").clickOn("#recent-menu").clickOn(Fixtures.tiny("legacy-base").toString());
        waitUntil(() -> vm.getWorkspace() != null);
        assertThat(stage.getTitle()).isEqualTo("Fusebox — mixtral · legacy-base");
    }

    @Test
    void aModelInTheHuggingFaceCacheOpensFromTheFileMenu(FxRobot robot) throws Exception {
        // A snapshot as huggingface_hub lays it out: each file a relative link into the repo's blobs/.
        Path repo = temp.resolve("hub").resolve("models--fusebox-test--mixtral-tiny");
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots").resolve("1".repeat(40)));
        for (String name : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(Fixtures.tiny("legacy-base").resolve(name), blobs.resolve(name + "-blob"));
            Files.createSymbolicLink(snapshot.resolve(name), Path.of("..", "..", "blobs", name + "-blob"));
        }
        robot.interact(() -> vm.cache().rootProperty().set(temp.resolve("hub")));
        robot.clickOn("File");
        waitUntil(() -> !vm.cache().models().isEmpty());
        robot.clickOn("#cache-menu").clickOn("fusebox-test/mixtral-tiny@1111111 · 808 KiB · legacy · mixtral");
        waitUntil(() -> vm.getWorkspace() != null);
        assertThat(stage.getTitle()).isEqualTo("Fusebox — mixtral · fusebox-test/mixtral-tiny@1111111");
    }

    @Test
    void theDarkThemeSwapsTheColourSheet(FxRobot robot) {
        robot.clickOn("#dark-theme-button");
        assertThat(stage.getScene().getStylesheets()).anyMatch(s -> s.endsWith("themes/dark.css"));
        robot.clickOn("#dark-theme-button");
        assertThat(stage.getScene().getStylesheets()).anyMatch(s -> s.endsWith("themes/light.css"));
    }
}
