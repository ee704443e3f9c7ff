package dev.fusebox.app.links;

import javafx.geometry.Bounds;
import javafx.scene.Node;
import javafx.scene.control.TreeTableRow;
import javafx.scene.control.TreeTableView;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Where one tree's shown rows are, measured once for a whole drawing of the link gutter: the vertical centre of
 * each row in view by its index, the first and last index in view, and the table's top and bottom edge, all in the
 * gutter's coordinates.
 */
public record RowCenters(Map<Integer, Double> centers, int firstShown, int lastShown, double top, double bottom) {

    public RowCenters {
        centers = Map.copyOf(centers);
    }

    /** Where {@code table}'s rows in view are, in {@code target}'s coordinates: one walk over its row cells. */
    public static RowCenters of(TreeTableView<?> table, Node target) {
        Map<Integer, Double> centers = new HashMap<>();
        int firstShown = Integer.MAX_VALUE;
        int lastShown = -1;
        for (Node n : table.lookupAll(".tree-table-row-cell")) {
            if (n instanceof TreeTableRow<?> r && r.isVisible() && r.getItem() != null && inViewport(table, r)) {
                firstShown = Math.min(firstShown, r.getIndex());
                lastShown = Math.max(lastShown, r.getIndex());
                centers.put(r.getIndex(), target.sceneToLocal(r.localToScene(r.getBoundsInLocal())).getCenterY());
            }
        }
        Bounds t = target.sceneToLocal(table.localToScene(table.getBoundsInLocal()));
        return new RowCenters(centers, firstShown, lastShown, t.getMinY(), t.getMaxY());
    }

    private static boolean inViewport(TreeTableView<?> table, Node cell) {
        Bounds b = table.sceneToLocal(cell.localToScene(cell.getBoundsInLocal()));
        return b.getMinY() >= 0 && b.getMaxY() <= table.getHeight();
    }

    /**
     * The centre of row {@code index} when it is in view; the top or bottom edge when it is scrolled out of sight
     * (a row past the table's end); empty when no row is in view or the row is not in the tree.
     */
    public OptionalDouble at(int index) {
        Double center = centers.get(index);
        if (center != null) {
            return OptionalDouble.of(center);
        }
        if (index < 0 || lastShown < 0) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(index < firstShown ? top + 28 : bottom - 4);
    }
}
