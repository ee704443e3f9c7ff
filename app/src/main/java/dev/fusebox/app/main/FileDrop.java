package dev.fusebox.app.main;

import javafx.css.PseudoClass;
import javafx.scene.Node;
import javafx.scene.input.DragEvent;
import javafx.scene.input.TransferMode;

import java.io.File;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * Makes a node a drop target for files and folders: it accepts a drag that carries files, shows the
 * {@code :drag-over} pseudo-class while one hovers, and hands the dropped paths on. Nothing is moved: Fusebox only
 * reads what is dropped.
 */
public final class FileDrop {

    public static final PseudoClass DRAG_OVER = PseudoClass.getPseudoClass("drag-over");

    private FileDrop() {
    }

    public static void install(Node target, Consumer<List<Path>> onDrop) {
        target.addEventHandler(DragEvent.DRAG_OVER, e -> {
            if (e.getDragboard().hasFiles()) {
                e.acceptTransferModes(TransferMode.ANY);
                target.pseudoClassStateChanged(DRAG_OVER, true);
                e.consume();
            }
        });
        target.addEventHandler(DragEvent.DRAG_EXITED, e -> target.pseudoClassStateChanged(DRAG_OVER, false));
        target.addEventHandler(DragEvent.DRAG_DROPPED, e -> {
            target.pseudoClassStateChanged(DRAG_OVER, false);
            if (e.getDragboard().hasFiles()) {
                onDrop.accept(e.getDragboard().getFiles().stream().map(File::toPath).toList());
                e.setDropCompleted(true);
                e.consume();
            }
        });
    }
}
