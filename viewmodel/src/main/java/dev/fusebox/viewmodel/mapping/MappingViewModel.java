package dev.fusebox.viewmodel.mapping;

import dev.fusebox.converter.text.Sizes;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.lora.AdapterPlan;
import dev.fusebox.converter.lora.BlockMatrix;
import dev.fusebox.converter.lora.TargetLora;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.CopyRecipe;
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
        List<MappingRow> all = new ArrayList<>();
        model.ifPresent(p -> p.targets().forEach(t -> all.add(MappingRow.of(t, "model"))));
        adapter.ifPresent(a -> a.plan().targets().forEach(t -> all.add(MappingRow.of(t, "adapter",
                a.lora(t.key()).map(TargetLora::summary).orElse("")))));
        rows = List.copyOf(all);
        roles = roles(all);
        messages.setAll(said);
        summary.set(describe(model, "Model").orElse("") + describe(adapter.map(AdapterPlan::plan), "Adapter")
                .map(s -> (model.isPresent() ? "\n" : "") + s).orElse(""));
        selected.set(null);
        regroup();
    }

    public void clear() {
        show(Optional.empty(), Optional.empty(), List.of());
        summary.set("");
    }

    private static Optional<String> describe(Optional<ConversionPlan> plan, String what) {
        return plan.map(p -> {
            long copied = p.targets().stream().filter(t -> t.copiedWhole() && !t.renamed()).count();
            long renamed = p.targets().stream().filter(PlannedTarget::renamed).count();
            long built = p.targets().size() - copied - renamed;
            return what + ": " + p.modelType() + ", " + p.from().jsonName() + " → " + p.to().jsonName() + " by the "
                    + p.rules() + " · " + Sizes.count(p.sourceTensors().size()) + " tensors in, "
                    + Sizes.count(p.targets().size()) + " out, " + Sizes.bytes(p.targetBytes()) + " · "
                    + kinds(copied, renamed, built);
        });
    }

    /** "46,679 copied, 0 renamed, 58 built by operations". */
    static String kinds(long copied, long renamed, long built) {
        return Sizes.count(copied) + " copied, " + Sizes.count(renamed) + " renamed, " + Sizes.count(built)
                + " built by operations";
    }

    /** The diagram of {@code row}, its note saying what happens to the rank and alpha of an adapter's target. */
    private ShapeDiagram diagram(MappingRow row) {
        ShapeDiagram d = ShapeDiagram.of(row.target(), roles);
        return row.loraText().isEmpty() ? d : new ShapeDiagram(d.targetKey(), d.shape(), d.blocks(), d.roles(),
                d.note() + "\n" + row.loraText());
    }

    /** Every source role in the order first met, so colours stay the same from target to target. */
    private static List<String> roles(List<MappingRow> rows) {
        List<String> out = new ArrayList<>();
        for (MappingRow r : rows) {
            List<String> keys = switch (r.target().recipe()) {
                case CopyRecipe c when !r.target().copiedWhole() ->
                        c.placements().stream().map(p -> p.source().key()).toList();
                case ComputedRecipe c when c.computation() instanceof BlockMatrix m ->
                        m.blocks().stream().map(b -> b.source().tensor().key()).toList();
                default -> List.of();
            };
            for (String key : keys) {
                String role = ShapeDiagram.role(key);
                if (!out.contains(role)) {
                    out.add(role);
                }
            }
        }
        return out;
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
