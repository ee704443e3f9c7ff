package dev.fusebox.app;

import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.layout.VBox;
import javafx.stage.Stage;
import org.controlsfx.control.StatusBar;
import org.controlsfx.control.textfield.TextFields;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignF;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.ApplicationExtension;
import org.testfx.framework.junit5.Start;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(ApplicationExtension.class)
class SmokeTest {
    int clicks;

    @Start
    void start(Stage stage) {
        Button b = new Button("Go", new FontIcon(MaterialDesignF.FOLDER_OPEN));
        b.setId("go");
        b.setOnAction(e -> clicks++);
        var tf = TextFields.createClearableTextField();
        tf.setId("filter");
        stage.setScene(new Scene(new VBox(b, tf, new StatusBar()), 400, 300));
        stage.show();
    }

    @Test
    void clicks(FxRobot robot) {
        robot.clickOn("#go");
        robot.clickOn("#filter").write("abc");
        assertThat(clicks).isEqualTo(1);
        assertThat(robot.lookup("#filter").queryTextInputControl().getText()).isEqualTo("abc");
    }
}
