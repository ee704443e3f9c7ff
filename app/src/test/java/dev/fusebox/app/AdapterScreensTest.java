package dev.fusebox.app;

import dev.fusebox.converter.forward.VerificationReport;
import dev.fusebox.viewmodel.main.Screen;
import javafx.scene.control.Label;
import javafx.scene.control.TreeTableView;
import javafx.scene.layout.VBox;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.Start;
import org.testfx.framework.junit5.Stop;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The bundled sample's pair, a legacy base and its LoRA adapter, mapped, converted and verified together. */
class AdapterScreensTest extends WindowTest {

    @Start
    void start(Stage stage) {
        showWindow(stage);
    }

    @Stop
    void stop() {
        closeWindow();
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
}
