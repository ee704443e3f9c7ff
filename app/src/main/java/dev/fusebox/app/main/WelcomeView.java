package dev.fusebox.app.main;

import dev.fusebox.app.actions.ActionFactory;
import dev.fusebox.app.actions.AppAction;
import dev.fusebox.viewmodel.main.MainViewModel;
import javafx.collections.ListChangeListener;
import javafx.geometry.Pos;
import javafx.scene.control.Hyperlink;
import javafx.scene.control.Label;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignT;

import java.nio.file.Path;

/** What the window shows while nothing is open: where to drop, how to open, and the recent files. */
final class WelcomeView extends VBox {

    WelcomeView(MainViewModel vm, ActionFactory actions) {
        setId("welcome");
        getStyleClass().add("welcome");
        setAlignment(Pos.CENTER);
        setSpacing(14);
        FontIcon icon = new FontIcon(MaterialDesignT.TRAY_ARROW_DOWN);
        icon.getStyleClass().add("welcome-icon");
        Label title = new Label("Drop a checkpoint here");
        title.getStyleClass().add("welcome-title");
        Label hint = new Label("a checkpoint or adapter folder, a .safetensors file or a model.safetensors.index.json");
        hint.getStyleClass().add("muted");
        HBox buttons = new HBox(10, actions.labelledButton(AppAction.OPEN_FOLDER),
                actions.labelledButton(AppAction.OPEN_FILE), actions.labelledButton(AppAction.OPEN_SAMPLE));
        buttons.setAlignment(Pos.CENTER);
        Label recentTitle = new Label("Recent");
        recentTitle.getStyleClass().add("section-label");
        VBox recent = new VBox(2);
        recent.setId("welcome-recent");
        recent.setAlignment(Pos.CENTER);
        Runnable fill = () -> {
            recent.getChildren().clear();
            for (Path p : vm.recentFiles()) {
                Hyperlink link = new Hyperlink(p.toString());
                link.setOnAction(e -> vm.openRecent(p));
                recent.getChildren().add(link);
            }
            recentTitle.setVisible(!vm.recentFiles().isEmpty());
        };
        vm.recentFiles().addListener((ListChangeListener<Path>) c -> fill.run());
        fill.run();
        getChildren().addAll(icon, title, hint, buttons, recentTitle, recent);
    }
}
