package dev.fusebox.app.main;

import dev.fusebox.app.actions.ActionFactory;
import dev.fusebox.app.actions.AppAction;
import javafx.scene.control.Alert;
import javafx.scene.control.ButtonType;
import javafx.scene.control.Label;
import javafx.scene.layout.GridPane;
import javafx.stage.Window;

/** Help ▸ Keyboard Shortcuts: every action that has one, read from the actions enum. */
final class ShortcutsDialog {

    private ShortcutsDialog() {
    }

    static void show(Window owner) {
        GridPane grid = new GridPane();
        grid.getStyleClass().add("fact-grid");
        int row = 0;
        for (AppAction a : AppAction.values()) {
            if (a.keyCombination().isPresent()) {
                Label keys = new Label(a.keyCombination().get().getDisplayText());
                keys.getStyleClass().add("shortcut-keys");
                grid.addRow(row++, ActionFactory.icon(a), new Label(a.label()), keys);
            }
        }
        Alert alert = new Alert(Alert.AlertType.NONE, "", ButtonType.CLOSE);
        alert.initOwner(owner);
        alert.setTitle("Fusebox — keyboard shortcuts");
        alert.setHeaderText("Keyboard shortcuts");
        alert.getDialogPane().setContent(grid);
        alert.show();
    }
}
