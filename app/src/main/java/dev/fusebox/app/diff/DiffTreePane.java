package dev.fusebox.app.diff;

import dev.fusebox.app.links.LinkedTree;
import dev.fusebox.app.links.RowCenters;
import dev.fusebox.app.main.FullTextTooltip;
import dev.fusebox.viewmodel.diff.DiffNode;
import dev.fusebox.viewmodel.diff.DiffState;
import dev.fusebox.viewmodel.diff.DiffTrees;
import dev.fusebox.viewmodel.diff.DiffViewModel;
import dev.fusebox.viewmodel.diff.Figures;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.ListChangeListener;
import javafx.css.PseudoClass;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.control.SelectionMode;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableCell;
import javafx.scene.control.TreeTableColumn;
import javafx.scene.control.TreeTableRow;
import javafx.scene.control.TreeTableView;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * One of the diff screen's two trees, A's or B's: every module, tensor and part of a fused tensor with its state as
 * a pseudo-class of the row ({@code :only-in-a}, {@code :values-differ}, ...) and, once values are compared, its
 * relative and largest difference, the relative one drawn as a heat cell. Rows the view model selects (the other
 * tree's counterparts, a chart cell's rows) are selected and revealed here.
 */
final class DiffTreePane extends VBox implements LinkedTree<DiffNode> {

    private static final Map<DiffState, PseudoClass> STATES = new HashMap<>();
    private static final List<PseudoClass> HEAT = new java.util.ArrayList<>();

    static {
        for (DiffState s : DiffState.values()) {
            STATES.put(s, PseudoClass.getPseudoClass(s.styleName()));
        }
        for (int i = 0; i < Figures.HEAT_LEVELS; i++) {
            HEAT.add(PseudoClass.getPseudoClass("heat-" + i));
        }
    }

    private final boolean a;
    private final DiffViewModel vm;
    private final ScrollTogether scrolling;
    private final TreeTableView<DiffNode> table = new TreeTableView<>();
    private final Map<DiffNode, TreeItem<DiffNode>> items = new HashMap<>();
    private boolean following;

    DiffTreePane(boolean a, DiffViewModel vm, ScrollTogether scrolling) {
        this.a = a;
        this.vm = vm;
        this.scrolling = scrolling;
        String side = a ? "a" : "b";
        setId("diff-" + side + "-pane");
        getStyleClass().add("tree-pane");
        Label title = new Label(a ? "A" : "B, read in A's layout");
        title.getStyleClass().add("pane-title");
        Label caption = new Label();
        caption.getStyleClass().add("pane-caption");
        caption.textProperty().bind((a ? vm.aProperty() : vm.bProperty()).map(p -> p.getFileName() == null
                ? p.toString() : p.getFileName().toString()).orElse(""));
        HBox header = new HBox(8, title, caption);
        header.getStyleClass().add("pane-header");
        getChildren().addAll(header, createTable(side));
        VBox.setVgrow(table, Priority.ALWAYS);
        vm.treesProperty().addListener((o, old, t) -> install());
        vm.onlyDifferencesProperty().addListener((o, old, only) -> install());
        vm.selection().addListener((ListChangeListener<DiffNode>) c -> follow());
        install();
    }

    private TreeTableView<DiffNode> createTable(String side) {
        table.setId("diff-" + side + "-tree");
        table.getStyleClass().add("diff-tree");
        table.setShowRoot(true);
        table.getSelectionModel().setSelectionMode(SelectionMode.MULTIPLE);
        table.setColumnResizePolicy(TreeTableView.CONSTRAINED_RESIZE_POLICY_ALL_COLUMNS);
        table.setPlaceholder(new Label(a ? "Nothing compared yet." : "Compare With… to see B here."));
        TreeTableColumn<DiffNode, String> name = column("Module / tensor", 220, DiffNode::name);
        TreeTableColumn<DiffNode, String> what = column("Shape / class", 120, DiffNode::description);
        TreeTableColumn<DiffNode, String> detail = column("Difference", 140, DiffNode::detail);
        TreeTableColumn<DiffNode, DiffNode> relative = new TreeTableColumn<>("‖a−b‖/‖a‖");
        relative.setPrefWidth(78);
        relative.setMaxWidth(100);
        relative.getStyleClass().add("numeric");
        relative.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().getValue()));
        relative.setCellFactory(c -> new HeatCell());
        TreeTableColumn<DiffNode, String> max = column("max |a−b|", 72,
                n -> n.difference().map(Figures::maxAbs).orElse(""));
        max.setMaxWidth(96);
        max.getStyleClass().add("numeric");
        table.getColumns().setAll(List.of(name, what, detail, relative, max));
        table.setRowFactory(t -> new TreeTableRow<>() {
            @Override
            protected void updateItem(DiffNode node, boolean empty) {
                super.updateItem(node, empty);
                STATES.forEach((s, p) -> pseudoClassStateChanged(p, !empty && node != null && node.state() == s));
            }
        });
        table.getSelectionModel().selectedItemProperty().addListener((o, old, item) -> {
            if (!following && item != null) {
                vm.select(item.getValue());
            }
        });
        return table;
    }

    private static TreeTableColumn<DiffNode, String> column(String title, double width,
                                                            Function<DiffNode, String> value) {
        TreeTableColumn<DiffNode, String> c = new TreeTableColumn<>(title);
        c.setPrefWidth(width);
        c.setCellValueFactory(f -> new ReadOnlyStringWrapper(value.apply(f.getValue().getValue())));
        c.setCellFactory(t -> FullTextTooltip.install(new TreeTableCell<>() {
            @Override
            protected void updateItem(String item, boolean empty) {
                super.updateItem(item, empty);
                setText(empty ? null : item);
            }
        }));
        return c;
    }

    private void install() {
        items.clear();
        DiffTrees t = vm.treesProperty().get();
        DiffNode root = t == null ? null : a ? t.a() : t.b();
        table.setRoot(root == null ? null : item(root, 0));
        follow();
    }

    /** Opens the model down to its layers; a layer opens as the user, a linked selection or the chart goes there. */
    private TreeItem<DiffNode> item(DiffNode node, int depth) {
        TreeItem<DiffNode> item = new TreeItem<>(node);
        items.put(node, item);
        item.setExpanded(depth < 2 || (vm.onlyDifferencesProperty().get() && node.differs() && depth < 8));
        for (DiffNode c : vm.shownChildren(node)) {
            item.getChildren().add(item(c, depth + 1));
        }
        return item;
    }

    /** Selects and reveals the view model's selection on this side, without telling it (it chose them). */
    private void follow() {
        following = true;
        try {
            table.getSelectionModel().clearSelection();
            List<TreeItem<DiffNode>> found = vm.selection().stream().filter(n -> n.inA() == a).map(items::get)
                    .filter(Objects::nonNull).toList();
            for (TreeItem<DiffNode> item : found) {
                for (TreeItem<DiffNode> p = item.getParent(); p != null; p = p.getParent()) {
                    p.setExpanded(true);
                }
            }
            int first = -1;
            for (TreeItem<DiffNode> item : found) {
                int index = table.getRow(item);
                table.getSelectionModel().select(index);
                first = first < 0 ? index : Math.min(first, index);
            }
            if (first >= 0) {
                scrolling.hold();
                table.scrollTo(Math.max(0, first - 2));
            }
        } finally {
            following = false;
        }
    }

    @Override
    public int shownIndex(DiffNode node) {
        return LinkedTree.shownIndex(table, items.get(node));
    }

    @Override
    public RowCenters rowCenters(Node target) {
        return RowCenters.of(table, target);
    }

    TreeTableView<DiffNode> table() {
        return table;
    }

    /** The relative difference, its background the heat level of it. */
    private static final class HeatCell extends TreeTableCell<DiffNode, DiffNode> {
        HeatCell() {
            getStyleClass().add("heat-cell");
        }

        @Override
        protected void updateItem(DiffNode node, boolean empty) {
            super.updateItem(node, empty);
            int level = empty || node == null ? -1 : node.difference().map(Figures::heat).orElse(-1);
            for (int i = 0; i < HEAT.size(); i++) {
                pseudoClassStateChanged(HEAT.get(i), i == level);
            }
            setText(empty || node == null ? null : node.difference().map(Figures::relative).orElse(""));
        }
    }
}
