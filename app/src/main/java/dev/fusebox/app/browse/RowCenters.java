package dev.fusebox.app.browse;

import java.util.Map;
import java.util.OptionalDouble;

/**
 * Where one tree's shown rows are, measured once for a whole drawing of the link gutter: the vertical centre of
 * each row in view by its index, the first and last index in view, and the table's top and bottom edge, all in the
 * gutter's coordinates.
 */
record RowCenters(Map<Integer, Double> centers, int firstShown, int lastShown, double top, double bottom) {

    RowCenters {
        centers = Map.copyOf(centers);
    }

    /**
     * The centre of row {@code index} when it is in view; the top or bottom edge when it is scrolled out of sight
     * (a row past the table's end); empty when no row is in view or the row is not in the tree.
     */
    OptionalDouble at(int index) {
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
