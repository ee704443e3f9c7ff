package dev.fusebox.app;

import com.sun.javafx.scene.input.DragboardHelper;
import com.sun.javafx.tk.TKClipboard;
import javafx.event.Event;
import javafx.geometry.Bounds;
import javafx.scene.Node;
import javafx.scene.image.Image;
import javafx.scene.input.DataFormat;
import javafx.scene.input.DragEvent;
import javafx.scene.input.Dragboard;
import javafx.scene.input.TransferMode;
import javafx.util.Pair;

import java.io.File;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Drops files on a node as a file manager would: a drag over it, then a drop, each with a dragboard holding the
 * files. No robot can drag from outside the window, so the events are made here (on the FX thread) and go through
 * the window's real handlers.
 */
public final class FileDrops {

    private FileDrops() {
    }

    /** Drags {@code files} over {@code target} and drops them; returns whether the drop was accepted. */
    public static boolean drop(Node target, List<Path> files) {
        Dragboard board = DragboardHelper.createDragboard(new FilesClipboard(files.stream().map(Path::toFile).toList()));
        Bounds b = target.localToScreen(target.getBoundsInLocal());
        double x = b.getCenterX();
        double y = b.getCenterY();
        DragEvent over = new DragEvent(DragEvent.DRAG_OVER, board, x, y, x, y, null, null, null, null);
        Event.fireEvent(target, over);
        DragEvent drop = new DragEvent(DragEvent.DRAG_DROPPED, board, x, y, x, y, TransferMode.COPY, null, null, null);
        Event.fireEvent(target, drop);
        return drop.isAccepted() || drop.isDropCompleted();
    }

    /** The clipboard behind a dragboard, holding a list of files. */
    private static final class FilesClipboard implements TKClipboard {
        private final Map<DataFormat, Object> content = new HashMap<>();

        FilesClipboard(List<File> files) {
            content.put(DataFormat.FILES, files);
        }

        @Override
        public Set<DataFormat> getContentTypes() {
            return content.keySet();
        }

        @Override
        @SafeVarargs
        public final boolean putContent(Pair<DataFormat, Object>... pairs) {
            for (Pair<DataFormat, Object> p : pairs) {
                content.put(p.getKey(), p.getValue());
            }
            return true;
        }

        @Override
        public Object getContent(DataFormat format) {
            return content.get(format);
        }

        @Override
        public boolean hasContent(DataFormat format) {
            return content.containsKey(format);
        }

        @Override
        public Set<TransferMode> getTransferModes() {
            return EnumSet.of(TransferMode.COPY, TransferMode.MOVE, TransferMode.LINK);
        }

        @Override
        public void setDragView(Image image) {
        }

        @Override
        public void setDragViewOffsetX(double offsetX) {
        }

        @Override
        public void setDragViewOffsetY(double offsetY) {
        }

        @Override
        public Image getDragView() {
            return null;
        }

        @Override
        public double getDragViewOffsetX() {
            return 0;
        }

        @Override
        public double getDragViewOffsetY() {
            return 0;
        }
    }
}
