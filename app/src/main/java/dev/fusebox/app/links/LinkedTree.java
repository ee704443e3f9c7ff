package dev.fusebox.app.links;

import javafx.scene.Node;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableView;

/**
 * A tree beside a {@link LinkGutter}: which of its shown rows stands for a row, and where its rows in view are.
 *
 * @param <R> what its rows hold
 */
public interface LinkedTree<R> {

    /**
     * The index of the shown row that stands for {@code row}: its own, else its nearest shown ancestor's; -1 when it
     * is not in the tree.
     */
    int shownIndex(R row);

    /** Where the rows in view are, in {@code target}'s coordinates. */
    RowCenters rowCenters(Node target);

    /** {@link #shownIndex} of the row {@code item} holds in {@code table}; -1 for no item or no tree. */
    static <T> int shownIndex(TreeTableView<T> table, TreeItem<T> item) {
        if (item == null || table.getRoot() == null) {
            return -1;
        }
        int index = table.getRow(item);
        for (TreeItem<T> p = item.getParent(); index < 0 && p != null; p = p.getParent()) {
            index = table.getRow(p);
        }
        return index;
    }
}
