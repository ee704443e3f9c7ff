package dev.fusebox.viewmodel.browse;

import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The model screen's two trees, legacy on the left and v5 on the right, and their linked selection: selecting a
 * row on one side selects the rows it becomes (or comes from) on the other, each with the part of the fused
 * tensor concerned. A module's counterparts are the tensors its own tensors map to, or, when those are many, the
 * smallest module on the other side that holds them all.
 */
public final class TreesViewModel {

    /** Above this many counterpart tensors, a module links to the module that holds them instead. */
    static final int MOST_LINKED_TENSORS = 4;

    private final Map<Side, ReadOnlyObjectWrapper<TreeRow>> roots = new EnumMap<>(Side.class);
    private final Map<Side, ReadOnlyStringWrapper> captions = new EnumMap<>(Side.class);
    private final Map<Side, Map<String, TreeRow>> tensorRows = new EnumMap<>(Side.class);
    private final ReadOnlyObjectWrapper<TreeRow> selected = new ReadOnlyObjectWrapper<>(this, "selected");
    private final ObservableList<TreeRow> counterparts = FXCollections.observableArrayList();
    private final ObservableList<RowLink> links = FXCollections.observableArrayList();
    private final ObservableList<TreeRow> counterpartsView = FXCollections.unmodifiableObservableList(counterparts);
    private final ObservableList<RowLink> linksView = FXCollections.unmodifiableObservableList(links);
    private final TreeSearch search = new TreeSearch(this);
    private TensorLinks tensorLinks = TensorLinks.NONE;

    public TreesViewModel() {
        for (Side s : Side.values()) {
            roots.put(s, new ReadOnlyObjectWrapper<>(this, s.name().toLowerCase(Locale.ROOT) + "Root"));
            captions.put(s, new ReadOnlyStringWrapper(this, s.name().toLowerCase(Locale.ROOT) + "Caption", ""));
            tensorRows.put(s, Map.of());
        }
    }

    /** Shows new trees (either may be null: nothing on that side) and forgets the selection and the search. */
    public void show(TreeRow legacy, String legacyCaption, TreeRow v5, String v5Caption, TensorLinks links) {
        select(null);
        tensorLinks = links;
        install(Side.LEGACY, legacy, legacyCaption);
        install(Side.V5, v5, v5Caption);
        search.reset();
    }

    /** Empties both sides. */
    public void clear() {
        show(null, "", null, "", TensorLinks.NONE);
    }

    private void install(Side side, TreeRow root, String caption) {
        Map<String, TreeRow> byKey = Map.of();
        if (root != null) {
            List<TreeRow> tensors = root.tensors();
            byKey = HashMap.newHashMap(tensors.size());
            for (TreeRow t : tensors) {
                byKey.put(t.path(), t);
            }
        }
        tensorRows.put(side, byKey);
        captions.get(side).set(caption);
        roots.get(side).set(root);
    }

    /** Selects {@code row} (null clears) and finds its counterparts on the other side. */
    public void select(TreeRow row) {
        selected.set(row);
        if (row == null) {
            links.clear();
            counterparts.clear();
            return;
        }
        Map<String, TreeRow> other = tensorRows.get(row.side().other());
        Map<TreeRow, List<String>> regions = new LinkedHashMap<>();
        for (TreeRow source : linkedTensors(row)) {
            for (TensorLink l : tensorLinks.of(source.side(), source.path())) {
                TreeRow target = other.get(l.key());
                if (target != null) {
                    List<String> r = regions.computeIfAbsent(target, t -> new ArrayList<>());
                    if (!l.region().isEmpty() && !r.contains(l.region())) {
                        r.add(l.region());
                    }
                }
            }
        }
        List<RowLink> found = new ArrayList<>();
        if (!row.isTensor() && regions.size() > MOST_LINKED_TENSORS) {
            found.add(new RowLink(row, commonAncestor(List.copyOf(regions.keySet())), ""));
        } else {
            regions.forEach((target, r) -> found.add(new RowLink(row, target, String.join(" + ", r))));
        }
        links.setAll(found);
        counterparts.setAll(found.stream().map(RowLink::to).toList());
    }

    /** A tensor links itself; a module with tensors of its own and no submodules links those; others all below. */
    private static List<TreeRow> linkedTensors(TreeRow row) {
        if (row.isTensor()) {
            return List.of(row);
        }
        boolean leafModule = row.children().stream().allMatch(TreeRow::isTensor);
        return leafModule ? row.children() : row.tensors();
    }

    private static TreeRow commonAncestor(List<TreeRow> rows) {
        TreeRow candidate = rows.getFirst();
        while (candidate.parent().isPresent()) {
            TreeRow c = candidate;
            if (rows.stream().allMatch(c::contains) && !c.isTensor()) {
                return c;
            }
            candidate = candidate.parent().get();
        }
        return candidate;
    }

    public ReadOnlyObjectProperty<TreeRow> rootProperty(Side side) {
        return roots.get(side).getReadOnlyProperty();
    }

    /** What a side shows: "opened: legacy-base", "written by Convert". */
    public ReadOnlyStringProperty captionProperty(Side side) {
        return captions.get(side).getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<TreeRow> selectedProperty() {
        return selected.getReadOnlyProperty();
    }

    public TreeRow getSelected() {
        return selected.get();
    }

    /** The rows on the other side that correspond to the selected one. */
    public ObservableList<TreeRow> counterparts() {
        return counterpartsView;
    }

    /** The lines to draw between the panes. */
    public ObservableList<RowLink> links() {
        return linksView;
    }

    /** Search in both trees by key or module path. */
    public TreeSearch search() {
        return search;
    }

    /** The tensor row with {@code key} on {@code side}, if there is one. */
    public Optional<TreeRow> tensorRow(Side side, String key) {
        return Optional.ofNullable(tensorRows.get(side).get(key));
    }
}
