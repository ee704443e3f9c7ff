package dev.fusebox.app;

import dev.fusebox.testsupport.Fixtures;
import javafx.scene.control.Label;
import javafx.scene.control.Tab;
import javafx.scene.control.TreeTableView;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.Start;
import org.testfx.framework.junit5.Stop;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The window opens with the model screen alone built (a cold launch on a large checkpoint waits for nothing else);
 * another screen is built when its tab first shows, and shows then what happened before it existed.
 */
class LazyScreensTest extends WindowTest {

    @Start
    void start(Stage stage) {
        showWindow(stage);
    }

    @Stop
    void stop() {
        closeWindow();
    }

    private Tab tab(String id) {
        return view.tabPane().getTabs().stream().filter(t -> id.equals(t.getId())).findFirst().orElseThrow();
    }

    @Test
    void onlyTheModelScreenIsBuiltWhenTheWindowOpens(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        assertThat(tab("model-tab").getContent()).isNotNull();
        assertThat(tab("mapping-tab").getContent()).isNull();
        assertThat(tab("convert-tab").getContent()).isNull();
        assertThat(tab("verify-tab").getContent()).isNull();
        assertThat(tab("diff-tab").getContent()).isNull();
        assertThat(robot.lookup("#mapping-table").tryQuery()).isEmpty();
    }

    @Test
    void aScreenBuiltAfterTheOpeningShowsWhatWasOpenedAndWhatRan(FxRobot robot) {
        openByDrop(robot, Fixtures.tiny("legacy-base"));
        robot.interact(() -> vm.verify().verify());
        waitUntil(() -> vm.verify().passedProperty().get() != null);
        assertThat(tab("verify-tab").getContent()).isNull();

        robot.clickOn("#mapping-tab");
        TreeTableView<?> table = robot.lookup("#mapping-table").queryAs(TreeTableView.class);
        assertThat(robot.lookup("#mapping-shown").queryAs(Label.class).getText()).isEqualTo("21 tensors");
        assertThat(table.getRoot().getChildren()).isNotEmpty();

        robot.clickOn("#verify-tab");
        Label verdict = robot.lookup("#verify-verdict").queryAs(Label.class);
        assertThat(verdict.getText()).startsWith("Passed: ");
        assertThat(verdict.getPseudoClassStates()).extracting(Object::toString).contains("passed");
    }
}
