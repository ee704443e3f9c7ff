package dev.fusebox.viewmodel.browse;

import javafx.beans.property.ReadOnlyIntegerProperty;
import javafx.beans.property.ReadOnlyIntegerWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Search in the model screen's trees: the rows of both sides whose key or module path holds the query (case
 * ignored), legacy first, each side in tree order. Typing jumps to the first match; next and previous walk the
 * matches round, each selected as a click would select it (its counterparts with it).
 */
public final class TreeSearch {

    private final TreesViewModel trees;
    private final StringProperty query = new SimpleStringProperty(this, "query", "");
    private final ReadOnlyIntegerWrapper current = new ReadOnlyIntegerWrapper(this, "current", -1);
    private final ReadOnlyObjectWrapper<List<TreeRow>> found = new ReadOnlyObjectWrapper<>(this, "found", List.of());
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper(this, "status", "");
    private Set<TreeRow> matching = Set.of();

    TreeSearch(TreesViewModel trees) {
        this.trees = trees;
        query.addListener((o, old, q) -> find());
    }

    /** Forgets the query and its matches: the trees were replaced. */
    void reset() {
        query.set("");
        find();
    }

    private void find() {
        String q = query.get() == null ? "" : query.get().strip().toLowerCase(Locale.ROOT);
        List<TreeRow> rows = new ArrayList<>();
        if (!q.isEmpty()) {
            for (Side side : Side.values()) {
                TreeRow root = trees.rootProperty(side).get();
                if (root != null) {
                    collect(root, q, rows);
                }
            }
        }
        Set<TreeRow> set = Collections.newSetFromMap(new IdentityHashMap<>(rows.size()));
        set.addAll(rows);
        matching = Collections.unmodifiableSet(set);
        current.set(-1);
        found.set(Collections.unmodifiableList(rows));
        if (rows.isEmpty()) {
            status.set(q.isEmpty() ? "" : "no match");
        } else {
            go(0);
        }
    }

    private static void collect(TreeRow row, String q, List<TreeRow> out) {
        if (!row.path().isEmpty() && row.path().toLowerCase(Locale.ROOT).contains(q)) {
            out.add(row);
        }
        for (TreeRow c : row.children()) {
            collect(c, q, out);
        }
    }

    /** Selects the match after the current one (the first after the last). */
    public void next() {
        List<TreeRow> matches = found.get();
        if (!matches.isEmpty()) {
            go((current.get() + 1) % matches.size());
        }
    }

    /** Selects the match before the current one (the last before the first). */
    public void previous() {
        List<TreeRow> matches = found.get();
        if (!matches.isEmpty()) {
            go((current.get() - 1 + matches.size()) % matches.size());
        }
    }

    private void go(int index) {
        current.set(index);
        List<TreeRow> matches = found.get();
        status.set((index + 1) + " of " + matches.size());
        trees.select(matches.get(index));
    }

    /** Whether {@code row} matches the query. */
    public boolean matches(TreeRow row) {
        return matching.contains(row);
    }

    /** The key or module path to look for; empty finds nothing. */
    public StringProperty queryProperty() {
        return query;
    }

    /** The index of the selected match, -1 when none. */
    public ReadOnlyIntegerProperty currentProperty() {
        return current.getReadOnlyProperty();
    }

    /** The matching rows in order; a new list after every search. */
    public ReadOnlyObjectProperty<List<TreeRow>> matchesProperty() {
        return found.getReadOnlyProperty();
    }

    /** "3 of 12", "no match", or "" with no query. */
    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }
}
