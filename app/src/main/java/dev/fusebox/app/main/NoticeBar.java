package dev.fusebox.app.main;

import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignC;

/**
 * The window's notice, as a bar below the screens that takes its own room: the screen above gets shorter while it
 * shows, so it covers nothing (a drop zone, a button, a chart's axis), unlike an overlay would.
 */
public final class NoticeBar extends HBox {

    private final Label text = new Label();
    private Runnable onClose = () -> { };

    NoticeBar() {
        super(10);
        setId("notice-bar");
        getStyleClass().add("notice-bar");
        setAlignment(Pos.CENTER_LEFT);
        text.setId("notice-text");
        text.setWrapText(true);
        text.setMaxWidth(Double.MAX_VALUE);
        HBox.setHgrow(text, Priority.ALWAYS);
        Button close = new Button(null, new FontIcon(MaterialDesignC.CLOSE));
        close.setId("notice-close");
        close.getStyleClass().add("tool-button");
        close.setTooltip(new Tooltip("Dismiss"));
        close.setOnAction(e -> onClose.run());
        getChildren().addAll(text, close);
        managedProperty().bind(visibleProperty());
        setVisible(false);
    }

    /** Shows {@code message} with {@code icon}, styled by {@code kind} ("info", "success", "error"). */
    void show(String message, FontIcon icon, String kind) {
        getStyleClass().removeAll("info", "success", "error");
        getStyleClass().add(kind);
        text.setText(message);
        text.setGraphic(icon);
        setVisible(true);
    }

    void hide() {
        setVisible(false);
    }

    /** What the close button runs (dismissing the notice in the view model). */
    void setOnClose(Runnable onClose) {
        this.onClose = onClose;
    }

    public boolean isShowing() {
        return isVisible();
    }

    public String getText() {
        return text.getText();
    }
}
