package dev.fusebox.app;

import javafx.application.Application;
import javafx.scene.Scene;
import javafx.scene.control.Label;
import javafx.scene.layout.StackPane;
import javafx.stage.Stage;

/** The desktop app's composition root. */
public final class FuseboxApp extends Application {

    @Override
    public void start(Stage stage) {
        String opened = String.join("\n", getParameters().getRaw());
        Label label = new Label(opened.isEmpty() ? "Fusebox" : "Fusebox\n" + opened);
        stage.setTitle("Fusebox");
        stage.setScene(new Scene(new StackPane(label), 1100, 700));
        stage.show();
    }
}
