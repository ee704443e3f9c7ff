package dev.fusebox.viewmodel.mapping;

import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.text.Sizes;
import dev.fusebox.converter.lora.AdapterPlan;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The mapping screen: every tensor the conversion writes, with its sources, shapes, dtype, operations and bytes;
 * a filter, grouping by layer, the planning's refusals and warnings on top, and the shape diagram of the selected
 * row.
 */
public final class MappingViewModel {

    private final StringProperty filter = new SimpleStringProperty(this, "filter", "");
    private final BooleanProperty groupByLayer = new SimpleBooleanProperty(this, "groupByLayer", true);
    private final ObservableList<PlanMessage> messages = FXCollections.observableArrayList();
    private final ObservableList<MappingGroup> groups = FXCollections.observableArrayList();
    private final ObservableList<PlanMessage> messagesView = FXCollections.unmodifiableObservableList(messages);
    private final ObservableList<MappingGroup> groupsView = FXCollections.unmodifiableObservableList(groups);
    private final ReadOnlyStringWrapper summary = new ReadOnlyStringWrapper(this, "summary", "");
    private final ReadOnlyStringWrapper shownText = new ReadOnlyStringWrapper(this, "shownText", "");
    private final ObjectProperty<MappingRow> selected = new SimpleObjectProperty<>(this, "selected");
    private final ReadOnlyObjectWrapper<ShapeDiagram> diagram = new ReadOnlyObjectWrapper<>(this, "diagram");
    private final Consumer<String> reveal;
    private List<MappingRow> rows = List.of();
    private List<String> roles = List.of();

    /** @param reveal selects a tensor, by key, in the model screen's trees */
    public MappingViewModel(Consumer<String> reveal) {
        this.reveal = reveal;
        filter.addListener(o -> regroup());
        groupByLayer.addListener(o -> regroup());
        selected.addListener((o, old, row) -> diagram.set(row == null ? null : diagram(row)));
    }

    /**
     * Shows the plans of what is open (either may be absent) and what the planning said; an adapter's rows carry
     * what happens to each target's rank and alpha.
     */
    public void show(Optional<ConversionPlan> model, Optional<AdapterPlan> adapter, List<PlanMessage> said) {
        show(MappingTable.of(model, adapter), said);
    }

    /** Shows a table made beforehand (off the UI thread) and what the planning said. */
    public void show(MappingTable table, List<PlanMessage> said) {
        rows = table.rows();
        roles = table.roles();
        messages.setAll(said);
        summary.set(table.summary());
        selected.set(null);
        regroup();
    }

    public void clear() {
        show(MappingTable.EMPTY, List.of());
    }

    /** The diagram of {@code row}, its note saying what happens to the rank and alpha of an adapter's target. */
    private ShapeDiagram diagram(MappingRow row) {
        ShapeDiagram d = ShapeDiagram.of(row.target(), roles);
        return row.loraText().isEmpty() ? d : new ShapeDiagram(d.targetKey(), d.shape(), d.blocks(), d.roles(),
                d.note() + "\n" + row.loraText());
    }

    private void regroup() {
        String q = filter.get() == null ? "" : filter.get();
        Map<String, List<MappingRow>> byGroup = new LinkedHashMap<>();
        int shown = 0;
        for (MappingRow r : rows) {
            if (r.matches(q)) {
                byGroup.computeIfAbsent(r.group(), k -> new ArrayList<>()).add(r);
                shown++;
            }
        }
        // Layers in numeric order, then what is outside them; ungrouped, the same rows in the same order.
        List<MappingGroup> out = new ArrayList<>();
        byGroup.forEach((label, r) -> out.add(new MappingGroup(label, r)));
        out.sort((a, b) -> Integer.compare(firstLayer(a), firstLayer(b)));
        groups.setAll(groupByLayer.get() || out.isEmpty() ? out
                : List.of(new MappingGroup("", out.stream().flatMap(g -> g.rows().stream()).toList())));
        shownText.set(shown == rows.size() ? Sizes.count(rows.size()) + " tensors"
                : Sizes.count(shown) + " of " + Sizes.count(rows.size()) + " tensors");
    }

    private static int firstLayer(MappingGroup g) {
        int layer = g.rows().isEmpty() ? -1 : g.rows().getFirst().layer();
        return layer < 0 ? Integer.MAX_VALUE : layer;
    }

    /** Selects the row that writes {@code key}, when there is one (whether or not the filter shows it). */
    public void select(String key) {
        rows.stream().filter(r -> r.targetKey().equals(key)).findFirst().ifPresent(selected::set);
    }

    /** Selects the row's target in the model screen's trees. */
    public void showInTrees(MappingRow row) {
        if (row != null) {
            reveal.accept(row.targetKey());
        }
    }

    /** The rows shown with the current filter. */
    public List<MappingRow> shownRows() {
        return groups.stream().flatMap(g -> g.rows().stream()).toList();
    }

    public StringProperty filterProperty() {
        return filter;
    }

    public BooleanProperty groupByLayerProperty() {
        return groupByLayer;
    }

    public ObservableList<PlanMessage> messages() {
        return messagesView;
    }

    /** The rows that pass the filter, by layer (one unnamed group when not grouping). */
    public ObservableList<MappingGroup> groups() {
        return groupsView;
    }

    /** One line per plan: family, direction, counts and bytes. */
    public ReadOnlyStringProperty summaryProperty() {
        return summary.getReadOnlyProperty();
    }

    /** "12 of 33 tensors" while a filter hides some. */
    public ReadOnlyStringProperty shownTextProperty() {
        return shownText.getReadOnlyProperty();
    }

    public ObjectProperty<MappingRow> selectedProperty() {
        return selected;
    }

    public ReadOnlyObjectProperty<ShapeDiagram> diagramProperty() {
        return diagram.getReadOnlyProperty();
    }
}
