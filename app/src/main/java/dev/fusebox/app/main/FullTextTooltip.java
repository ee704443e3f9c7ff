package dev.fusebox.app.main;

import javafx.beans.binding.Bindings;
import javafx.scene.control.Labeled;
import javafx.scene.control.Tooltip;

/** A cell or label whose text does not fit shows all of it in a tooltip; one whose text fits shows none. */
public final class FullTextTooltip {

    private FullTextTooltip() {
    }

    public static <T extends Labeled> T install(T labeled) {
        Tooltip full = new Tooltip();
        full.textProperty().bind(labeled.textProperty());
        labeled.tooltipProperty().bind(Bindings.when(labeled.textTruncatedProperty()).then(full)
                .otherwise((Tooltip) null));
        return labeled;
    }
}
