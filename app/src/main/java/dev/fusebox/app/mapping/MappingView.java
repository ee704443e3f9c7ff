package dev.fusebox.app.mapping;

import dev.fusebox.app.chart.ShapeDiagramChart;
import dev.fusebox.app.main.FullTextTooltip;
import dev.fusebox.converter.text.Sizes;
import dev.fusebox.viewmodel.mapping.MappingGroup;
import dev.fusebox.viewmodel.mapping.MappingRow;
import dev.fusebox.viewmodel.mapping.MappingViewModel;
import dev.fusebox.viewmodel.mapping.PlanMessage;
import dev.fusebox.viewmodel.mapping.ShapeDiagram;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.ListChangeListener;
import javafx.geometry.Orientation;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.SplitPane;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableCell;
import javafx.scene.control.TreeTableColumn;
import javafx.scene.control.TreeTableRow;
import javafx.scene.control.TreeTableView;
import javafx.scene.input.MouseButton;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.controlsfx.control.textfield.CustomTextField;
import org.controlsfx.control.textfield.TextFields;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignA;
import org.kordamp.ikonli.materialdesign2.MaterialDesignC;
import org.kordamp.ikonli.materialdesign2.MaterialDesignF;
import org.kordamp.ikonli.materialdesign2.MaterialDesignM;

import java.util.function.Function;

/**
 * The mapping screen: the adapter's PEFT check and the planning's refusals and warnings on top, a filter and the
 * table of every tensor the conversion writes (the model's and the adapter's, grouped by layer), and the shape
 * diagram of the selected tensor beside it. Double-clicking a row shows it in the model screen's trees.
 */
public final class MappingView extends BorderPane {

    private final MappingViewModel vm;
    private final TreeTableView<Object> table = new TreeTableView<>();
    private final CustomTextField filter = (CustomTextField) TextFields.createClearableTextField();

    public MappingView(MappingViewModel vm) {
        this.vm = vm;
        setId("mapping-view");
        getStyleClass().add("screen");
        setTop(new VBox(6, createMessages(), createSummary(), createFilterRow()));
        SplitPane split = new SplitPane(createTable(), createDiagram());
        split.setOrientation(Orientation.HORIZONTAL);
        split.setDividerPositions(0.64);
        setCenter(split);
    }

    private Node createMessages() {
        VBox box = new VBox(4);
        box.setId("mapping-messages");
        Runnable fill = () -> {
            box.getChildren().clear();
            for (PlanMessage m : vm.messages()) {
                Label l = new Label(m.text(), new FontIcon(switch (m.kind()) {
                    case REFUSAL -> MaterialDesignA.ALERT_OCTAGON_OUTLINE;
                    case WARNING, PEFT_PROBLEM -> MaterialDesignA.ALERT_OUTLINE;
                    case PEFT_FINE -> MaterialDesignC.CHECK_CIRCLE_OUTLINE;
                }));
                l.setWrapText(true);
                l.getStyleClass().addAll("plan-message",
                        m.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
                l.setMaxWidth(Double.MAX_VALUE);
                box.getChildren().add(l);
            }
        };
        vm.messages().addListener((ListChangeListener<PlanMessage>) c -> fill.run());
        fill.run();
        return box;
    }

    private Node createSummary() {
        Label summary = new Label();
        summary.setId("mapping-summary");
        summary.getStyleClass().add("muted");
        summary.setWrapText(true);
        summary.textProperty().bind(vm.summaryProperty());
        return summary;
    }

    private Node createFilterRow() {
        filter.setId("mapping-filter");
        filter.setPromptText("Filter by key, source or operation — e.g. layers.1 gate_up");
        filter.setLeft(new FontIcon(MaterialDesignM.MAGNIFY));
        filter.textProperty().bindBidirectional(vm.filterProperty());
        filter.setPrefColumnCount(36);
        CheckBox group = new CheckBox("Group by layer");
        group.setId("group-by-layer");
        group.selectedProperty().bindBidirectional(vm.groupByLayerProperty());
        Label shown = new Label();
        shown.setId("mapping-shown");
        shown.getStyleClass().add("muted");
        shown.textProperty().bind(vm.shownTextProperty());
        HBox row = new HBox(12, filter, group, shown);
        row.getStyleClass().add("filter-row");
        return row;
    }

    private Node createTable() {
        table.setId("mapping-table");
        table.setShowRoot(false);
        table.setColumnResizePolicy(TreeTableView.CONSTRAINED_RESIZE_POLICY_ALL_COLUMNS);
        table.setPlaceholder(new Label("No tensor to convert matches."));
        table.getColumns().setAll(java.util.List.of(
                column("Target", 240, g -> g.label() + "  (" + g.rows().size() + ")",
                        r -> vm.groupByLayerProperty().get() ? r.keyInLayer() : r.targetKey()),
                column("Shape", 95, g -> "", MappingRow::targetShapeText),
                column("← Sources", 110, g -> "", MappingRow::sourceShapesText),
                column("Operations", 190, g -> "", r -> r.operationsText().isEmpty() ? r.kind() : r.operationsText()),
                column("Dtype", 50, g -> "", MappingRow::dtypeText),
                bytesColumn()));
        table.setRowFactory(t -> {
            TreeTableRow<Object> row = new TreeTableRow<>() {
                @Override
                protected void updateItem(Object item, boolean empty) {
                    super.updateItem(item, empty);
                    setTooltip(item instanceof MappingRow r ? new Tooltip(r.targetKey()
                            + (r.loraText().isEmpty() ? "" : "\n" + r.loraText()) + "\n" + r.kind() + " ← "
                            + String.join("\n    ", r.target().sources().stream().map(s -> s.key() + " " + s.shape())
                            .toList())) : null);
                    pseudoClassStateChanged(javafx.css.PseudoClass.getPseudoClass("group"), item instanceof MappingGroup);
                }
            };
            row.setOnMouseClicked(e -> {
                if (e.getButton() == MouseButton.PRIMARY && e.getClickCount() == 2 && row.getItem() instanceof MappingRow r) {
                    vm.showInTrees(r);
                }
            });
            return row;
        });
        table.getSelectionModel().selectedItemProperty().addListener((o, old, item) ->
                vm.selectedProperty().set(item != null && item.getValue() instanceof MappingRow r ? r : null));
        vm.selectedProperty().addListener((o, old, row) -> follow(row));
        vm.groups().addListener((ListChangeListener<MappingGroup>) c -> fill());
        fill();
        return table;
    }

    private static TreeTableColumn<Object, String> column(String title, double width, Function<MappingGroup, String> group,
                                                          Function<MappingRow, String> row) {
        TreeTableColumn<Object, String> c = new TreeTableColumn<>(title);
        c.setPrefWidth(width);
        c.setCellValueFactory(f -> new ReadOnlyStringWrapper(switch (f.getValue().getValue()) {
            case MappingGroup g -> group.apply(g);
            case MappingRow r -> row.apply(r);
            default -> "";
        }));
        c.setCellFactory(t -> FullTextTooltip.install(new TreeTableCell<>() {
            @Override
            protected void updateItem(String item, boolean empty) {
                super.updateItem(item, empty);
                setText(empty ? null : item);
            }
        }));
        return c;
    }

    /** Bytes as numbers, so sorting by them sorts by size; shown as "96.0 KiB". */
    private static TreeTableColumn<Object, Long> bytesColumn() {
        TreeTableColumn<Object, Long> c = new TreeTableColumn<>("Bytes");
        c.setId("mapping-bytes");
        c.setPrefWidth(70);
        c.getStyleClass().add("numeric");
        c.setCellValueFactory(f -> new ReadOnlyObjectWrapper<>(switch (f.getValue().getValue()) {
            case MappingGroup g -> g.bytes();
            case MappingRow r -> r.bytes();
            default -> null;
        }));
        c.setCellFactory(t -> FullTextTooltip.install(new TreeTableCell<>() {
            @Override
            protected void updateItem(Long item, boolean empty) {
                super.updateItem(item, empty);
                setText(empty || item == null ? null : Sizes.bytes(item));
            }
        }));
        return c;
    }

    /** Rebuilds the rows: one item per group (when grouping) holding its rows, opened. */
    private void fill() {
        TreeItem<Object> root = new TreeItem<>();
        boolean grouped = vm.groups().size() > 1 || (vm.groups().size() == 1 && !vm.groups().getFirst().label().isEmpty());
        for (MappingGroup g : vm.groups()) {
            TreeItem<Object> parent = root;
            if (grouped) {
                parent = new TreeItem<>(g);
                parent.setExpanded(true);
                root.getChildren().add(parent);
            }
            for (MappingRow r : g.rows()) {
                parent.getChildren().add(new TreeItem<>(r));
            }
        }
        table.setRoot(root);
        // A new filter or grouping keeps the column the user sorted by.
        table.sort();
    }

    /** Selects and shows the row the view model selected (from elsewhere: a deep link, the trees). */
    // The table holds the view model's own row objects: the one to show is that very object.
    @SuppressWarnings("ReferenceEquality")
    private void follow(MappingRow row) {
        TreeItem<Object> selected = table.getSelectionModel().getSelectedItem();
        if (row == null || (selected != null && selected.getValue() == row)) {
            return;
        }
        for (TreeItem<Object> group : table.getRoot().getChildren()) {
            for (TreeItem<Object> item : group.getValue() instanceof MappingGroup ? group.getChildren()
                    : java.util.List.of(group)) {
                if (item.getValue() == row) {
                    table.getSelectionModel().select(item);
                    table.scrollTo(Math.max(0, table.getRow(item) - 3));
                    return;
                }
            }
        }
    }

    private Node createDiagram() {
        Label title = new Label();
        title.setId("diagram-title");
        title.getStyleClass().add("detail-title");
        title.setWrapText(true);
        title.textProperty().bind(Bindings.createStringBinding(() -> {
            ShapeDiagram d = vm.diagramProperty().get();
            return d == null ? "Select a tensor to see how its sources fill it." : d.targetKey() + "  " + d.shape();
        }, vm.diagramProperty()));
        Label note = new Label();
        note.getStyleClass().add("muted");
        note.setWrapText(true);
        note.textProperty().bind(Bindings.createStringBinding(() -> vm.diagramProperty().get() == null ? ""
                : vm.diagramProperty().get().note(), vm.diagramProperty()));
        ShapeDiagramChart chart = new ShapeDiagramChart();
        chart.setId("shape-diagram");
        chart.diagramProperty().bind(vm.diagramProperty());
        chart.setMinHeight(160);
        VBox.setVgrow(chart, Priority.ALWAYS);
        Button show = new Button("Show in trees", new FontIcon(MaterialDesignF.FILE_TREE));
        show.setId("show-in-trees");
        show.disableProperty().bind(vm.selectedProperty().isNull());
        show.setOnAction(e -> vm.showInTrees(vm.selectedProperty().get()));
        VBox box = new VBox(8, title, note, chart, show);
        box.getStyleClass().add("diagram-pane");
        box.setMinWidth(300);
        return box;
    }

    /** Puts the cursor in the filter box (Find, Shortcut+F, on this screen). */
    public void focusFilter() {
        filter.requestFocus();
        filter.selectAll();
    }

    public TextField filterField() {
        return filter;
    }
}
