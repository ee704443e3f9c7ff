package dev.fusebox.app.actions;

import javafx.scene.input.KeyCombination;
import org.kordamp.ikonli.Ikon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignA;
import org.kordamp.ikonli.materialdesign2.MaterialDesignC;
import org.kordamp.ikonli.materialdesign2.MaterialDesignF;
import org.kordamp.ikonli.materialdesign2.MaterialDesignH;
import org.kordamp.ikonli.materialdesign2.MaterialDesignM;
import org.kordamp.ikonli.materialdesign2.MaterialDesignP;
import org.kordamp.ikonli.materialdesign2.MaterialDesignS;
import org.kordamp.ikonli.materialdesign2.MaterialDesignT;
import org.kordamp.ikonli.materialdesign2.MaterialDesignV;

import java.util.Locale;
import java.util.Optional;

/** Every command of the window: its label, its icon and its shortcut. Menus and toolbars are made from these. */
public enum AppAction {
    OPEN_FILE("Open File…", MaterialDesignF.FILE_OUTLINE, "Shortcut+O"),
    OPEN_FOLDER("Open Folder…", MaterialDesignF.FOLDER_OPEN_OUTLINE, "Shortcut+Shift+O"),
    OPEN_SAMPLE("Open the Sample", MaterialDesignF.FLASK_OUTLINE, null),
    CLEAR_RECENT("Clear Recent Files", MaterialDesignH.HISTORY, null),
    CLOSE("Close", MaterialDesignC.CLOSE, "Shortcut+W"),
    QUIT("Quit", MaterialDesignP.POWER, "Shortcut+Q"),
    CONVERT("Convert…", MaterialDesignS.SWAP_HORIZONTAL, "Shortcut+K"),
    VERIFY("Verify", MaterialDesignC.CHECK_DECAGRAM_OUTLINE, "Shortcut+R"),
    COMPARE("Compare With…", MaterialDesignF.FILE_COMPARE, "Shortcut+D"),
    STATISTICS("Compute Statistics", MaterialDesignC.CHART_BELL_CURVE, "Shortcut+T"),
    FILTER("Find in Trees or Mappings", MaterialDesignM.MAGNIFY, "Shortcut+F"),
    CANCEL("Cancel Running Work", MaterialDesignC.CANCEL, "Shortcut+Period"),
    SHOW_MODEL("Model", MaterialDesignF.FILE_TREE, "Shortcut+1"),
    SHOW_MAPPING("Mapping", MaterialDesignT.TABLE_ARROW_RIGHT, "Shortcut+2"),
    SHOW_CONVERT("Convert", MaterialDesignT.TRANSFER_RIGHT, "Shortcut+3"),
    SHOW_VERIFY("Verify", MaterialDesignC.CHECK_DECAGRAM, "Shortcut+4"),
    SHOW_DIFF("Diff", MaterialDesignV.VECTOR_DIFFERENCE, "Shortcut+5"),
    DARK_THEME("Dark Theme", MaterialDesignT.THEME_LIGHT_DARK, "Shortcut+Shift+L"),
    SHORTCUTS("Keyboard Shortcuts", MaterialDesignA.APPS, "F1");

    private final String label;
    private final Ikon icon;
    private final String shortcut;

    AppAction(String label, Ikon icon, String shortcut) {
        this.label = label;
        this.icon = icon;
        this.shortcut = shortcut;
    }

    public String label() {
        return label;
    }

    public Ikon icon() {
        return icon;
    }

    public Optional<KeyCombination> keyCombination() {
        return Optional.ofNullable(shortcut).map(KeyCombination::keyCombination);
    }

    /** The label without its ellipsis, for tooltips: "Open Folder (Ctrl+Shift+O)". */
    public String tooltip() {
        String base = label.endsWith("…") ? label.substring(0, label.length() - 1) : label;
        return keyCombination().map(k -> base + " (" + k.getDisplayText() + ")").orElse(base);
    }

    /** A node id for it: {@code OPEN_FOLDER} with "button" → {@code open-folder-button}. */
    public String id(String suffix) {
        return name().toLowerCase(Locale.ROOT).replace('_', '-') + "-" + suffix;
    }
}
