package dev.fusebox.app.browse;

import dev.fusebox.app.links.LinkedTree;
import dev.fusebox.app.links.RowCenters;
import dev.fusebox.app.main.FullTextTooltip;
import dev.fusebox.converter.text.Sizes;
import dev.fusebox.viewmodel.browse.RowLink;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.browse.TreesViewModel;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.scene.control.skin.TreeTableViewSkin;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.ObservableList;
import javafx.css.PseudoClass;
import javafx.scene.Node;
import javafx.scene.control.ContextMenu;
import javafx.scene.control.Label;
import javafx.scene.control.MenuItem;
import javafx.scene.control.SelectionMode;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableCell;
import javafx.scene.control.TreeTableColumn;
import javafx.scene.control.TreeTableRow;
import javafx.scene.input.Clipboard;
import javafx.scene.input.ClipboardContent;
import javafx.scene.input.MouseButton;
import javafx.scene.control.TreeTableView;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignC;
import org.kordamp.ikonli.materialdesign2.MaterialDesignV;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One side of the model screen: a caption and the module tree with shape, dtype, size and parameters per row, and
 * a context menu on each row to copy its key, module path or shape. Selecting a row tells the view model; rows
 * the view model selects (the other side's counterparts) are selected, revealed and badged with the part of the
 * fused tensor they concern.
 */
final class TreePane extends VBox implements LinkedTree<TreeRow> {

    /** The key under which JavaFX's table cell behaviour keeps the selection's anchor cell. */
    private static final String SELECTION_ANCHOR = "anchor";

    private static final PseudoClass ADAPTER = PseudoClass.getPseudoClass("adapter");
    private static final PseudoClass LINKED = PseudoClass.getPseudoClass("linked");
    private static final PseudoClass PLANNED = PseudoClass.getPseudoClass("planned");
    private static final PseudoClass MATCH = PseudoClass.getPseudoClass("match");

    private final Side side;
    private final TreesViewModel vm;
    private final TreeTableView<TreeRow> table = new TreeTableView<>();
    private final Map<TreeRow, TreeItem<TreeRow>> items = new HashMap<>();
    private final Map<TreeRow, String> badges = new HashMap<>();
    private boolean following;

    TreePane(Side side, TreesViewModel vm) {
        this.side = side;
        this.vm = vm;
        String name = side.name().toLowerCase(java.util.Locale.ROOT);
        setId(name + "-pane");
        getStyleClass().addAll("tree-pane", name + "-side");
        getChildren().addAll(createHeader(), createTable());
        VBox.setVgrow(table, Priority.ALWAYS);
        vm.rootProperty(side).addListener((o, old, root) -> install(root));
        vm.selectedProperty().addListener((o, old, row) -> follow(row == null || row.side() != side ? List.of() : List.of(row)));
        vm.counterparts().addListener((javafx.collections.ListChangeListener<TreeRow>) c -> {
            if (vm.getSelected() != null && vm.getSelected().side() != side) {
                follow(vm.counterparts());
            }
        });
        vm.links().addListener((javafx.collections.ListChangeListener<RowLink>) c -> refreshBadges());
        vm.search().matchesProperty().addListener((o, old, found) -> table.refresh());
        install(vm.rootProperty(side).get());
    }

    private Node createHeader() {
        Label title = new Label(side == Side.LEGACY ? "Legacy layout" : "v5 layout");
        title.getStyleClass().add("pane-title");
        title.setGraphic(new FontIcon(side == Side.LEGACY ? MaterialDesignV.VIEW_SPLIT_VERTICAL : MaterialDesignC.CUBE_OUTLINE));
        title.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        Label caption = new Label();
        caption.getStyleClass().add("pane-caption");
        caption.textProperty().bind(vm.captionProperty(side));
        caption.setId(side.name().toLowerCase(java.util.Locale.ROOT) + "-caption");
        HBox header = new HBox(8, title, caption);
        header.getStyleClass().add("pane-header");
        return header;
    }

    private Node createTable() {
        table.setId(side.name().toLowerCase(java.util.Locale.ROOT) + "-tree");
        table.setShowRoot(true);
        table.getSelectionModel().setSelectionMode(SelectionMode.MULTIPLE);
        table.setColumnResizePolicy(TreeTableView.CONSTRAINED_RESIZE_POLICY_ALL_COLUMNS);
        table.setPlaceholder(new Label(side == Side.LEGACY ? "Nothing in the legacy layout is open."
                : "Nothing in the v5 layout is open."));

        TreeTableColumn<TreeRow, TreeRow> name = new TreeTableColumn<>("Module / tensor");
        name.setPrefWidth(260);
        name.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().getValue()));
        name.setCellFactory(c -> new NameCell());
        TreeTableColumn<TreeRow, String> shape = new TreeTableColumn<>("Shape / class");
        shape.setPrefWidth(150);
        shape.setCellValueFactory(c -> new ReadOnlyStringWrapper(describe(c.getValue().getValue())));
        TreeTableColumn<TreeRow, String> dtype = new TreeTableColumn<>("Dtype");
        dtype.setPrefWidth(52);
        dtype.setMaxWidth(70);
        dtype.setCellValueFactory(c -> new ReadOnlyStringWrapper(c.getValue().getValue().dtypeText()));
        TreeTableColumn<TreeRow, String> size = new TreeTableColumn<>("Size");
        size.setPrefWidth(72);
        size.setMaxWidth(90);
        size.getStyleClass().add("numeric");
        size.setCellValueFactory(c -> new ReadOnlyStringWrapper(Sizes.bytes(c.getValue().getValue().bytes())));
        TreeTableColumn<TreeRow, String> params = new TreeTableColumn<>("Params");
        params.setPrefWidth(64);
        params.setMaxWidth(84);
        params.getStyleClass().add("numeric");
        params.setCellValueFactory(c -> new ReadOnlyStringWrapper(c.getValue().getValue().parametersText()));
        for (TreeTableColumn<TreeRow, String> c : List.of(shape, dtype, size, params)) {
            c.setCellFactory(t -> FullTextTooltip.install(new TreeTableCell<>() {
                @Override
                protected void updateItem(String item, boolean empty) {
                    super.updateItem(item, empty);
                    setText(empty ? null : item);
                }
            }));
        }
        table.getColumns().setAll(List.of(name, shape, dtype, size, params));

        table.setRowFactory(t -> {
            TreeTableRow<TreeRow> r = new TreeTableRow<>() {
                @Override
                protected void updateItem(TreeRow row, boolean empty) {
                    super.updateItem(row, empty);
                    pseudoClassStateChanged(ADAPTER, !empty && row.kind() == TreeRow.Kind.ADAPTER_TENSOR);
                    pseudoClassStateChanged(PLANNED, !empty && row.isTensor() && row.stored().isEmpty());
                    pseudoClassStateChanged(LINKED, !empty && badges.containsKey(row));
                    pseudoClassStateChanged(MATCH, !empty && vm.search().matches(row));
                }
            };
            // A counterpart is selected already, so clicking it changes no selection: tell the view model here
            // (only for a selected row: a click on another row's disclosure arrow opens it without selecting).
            r.setOnContextMenuRequested(e -> {
                if (r.getItem() != null) {
                    copyMenu(r.getItem()).show(r, e.getScreenX(), e.getScreenY());
                    e.consume();
                }
            });
            r.setOnMouseClicked(e -> {
                boolean plain = e.getButton() == MouseButton.PRIMARY && !e.isShortcutDown() && !e.isShiftDown();
                if (plain && r.isSelected() && r.getItem() != null && vm.getSelected() != r.getItem()) {
                    vm.select(r.getItem());
                }
            });
            return r;
        });
        table.getSelectionModel().selectedItemProperty().addListener((o, old, item) -> {
            if (!following) {
                vm.select(item == null ? null : item.getValue());
            }
        });
        return table;
    }

    /** The row's context menu: copy its key, its module's path, its shape. */
    private static ContextMenu copyMenu(TreeRow row) {
        ContextMenu menu = new ContextMenu();
        menu.setId("tree-row-menu");
        row.copyTexts().forEach((label, text) -> {
            MenuItem item = new MenuItem(label);
            item.setOnAction(e -> {
                ClipboardContent content = new ClipboardContent();
                content.putString(text);
                Clipboard.getSystemClipboard().setContent(content);
            });
            menu.getItems().add(item);
        });
        return menu;
    }

    private static String describe(TreeRow row) {
        return row.isTensor() ? row.shapeText() : row.type();
    }

    private void install(TreeRow root) {
        items.clear();
        badges.clear();
        // Any one row reaches its whole tree and its files' entries (171 k rows and 92 k entries for a
        // DeepSeek-V3-FP8), so nothing of the table may keep an old row: the cell a click made the selection's
        // anchor (JavaFX's cell behaviour keeps it in the table's properties, past a new root) ...
        table.getProperties().remove(SELECTION_ANCHOR);
        table.setRoot(root == null ? null : new RowItem(root, true));
        if (root == null && table.getSkin() != null) {
            // ... and the skin's cells, which keep the last rows they showed (its measuring cell even past a new
            // root, and no layout runs while the welcome page covers the table): a new skin lets them go.
            table.setSkin(new TreeTableViewSkin<>(table));
        }
    }

    /**
     * A row's tree item, made with its parents' children if it was not yet: items are made as the table (or a
     * selection to reveal) asks for a row's children. Null for a row of another tree.
     */
    private TreeItem<TreeRow> itemFor(TreeRow row) {
        TreeItem<TreeRow> item = items.get(row);
        if (item != null) {
            return item;
        }
        TreeItem<TreeRow> parent = row.parent().map(this::itemFor).orElse(null);
        if (parent == null) {
            return null;
        }
        parent.getChildren();
        return items.get(row);
    }

    /**
     * A tree item whose children are made the first time they are asked for: the table asks only for those of
     * expanded items, so a checkpoint of 92 k tensors makes the few hundred items shown, not one per row.
     */
    private final class RowItem extends TreeItem<TreeRow> {
        private final boolean open;
        private boolean made;

        RowItem(TreeRow row, boolean open) {
            super(row);
            this.open = open;
            items.put(row, this);
            setExpanded(open);
        }

        @Override
        public boolean isLeaf() {
            return getValue().children().isEmpty();
        }

        @Override
        public ObservableList<TreeItem<TreeRow>> getChildren() {
            ObservableList<TreeItem<TreeRow>> children = super.getChildren();
            if (!made) {
                made = true;
                List<TreeItem<TreeRow>> out = new ArrayList<>();
                boolean first = true;
                for (TreeRow c : getValue().children()) {
                    out.add(new RowItem(c, open && opensWith(getValue(), c, first)));
                    first = false;
                }
                children.setAll(out);
            }
            return children;
        }
    }

    /**
     * What opens at first: the model down to its first layer, and in that layer the module lists (the experts)
     * and the modules that hold them, so the per-expert or fused structure shows at once. The rest opens as the
     * user, or a linked selection, goes there.
     */
    private static boolean opensWith(TreeRow parent, TreeRow child, boolean first) {
        if (isList(parent)) {
            return first && child.children().stream().anyMatch(c -> !c.isTensor() && holdsList(c));
        }
        if (parent.parent().isEmpty() || parent.parent().get().parent().isEmpty()) {
            return true;
        }
        return isList(child) || holdsList(child);
    }

    /** A ModuleList, or in a tree from the keys (no class names) a module whose children are all numbered. */
    private static boolean isList(TreeRow row) {
        if (row.type().equals("ModuleList")) {
            return true;
        }
        return row.type().isEmpty() && !row.isTensor() && !row.children().isEmpty() && row.children().stream()
                .allMatch(c -> !c.isTensor() && !c.name().isEmpty() && c.name().chars().allMatch(Character::isDigit));
    }

    private static boolean holdsList(TreeRow row) {
        return row.children().stream().anyMatch(TreePane::isList);
    }

    /** Selects and reveals {@code rows}, without telling the view model (it chose them). */
    private void follow(List<TreeRow> rows) {
        following = true;
        try {
            if (rows.isEmpty()) {
                if (vm.getSelected() == null || vm.getSelected().side() != side) {
                    table.getSelectionModel().clearSelection();
                }
                return;
            }
            table.getSelectionModel().clearSelection();
            List<TreeItem<TreeRow>> found = rows.stream().map(this::itemFor).filter(java.util.Objects::nonNull).toList();
            // Open every parent first: opening one moves the rows below it, so indices are read only after.
            for (TreeItem<TreeRow> item : found) {
                for (TreeItem<TreeRow> p = item.getParent(); p != null; p = p.getParent()) {
                    p.setExpanded(true);
                }
            }
            int first = -1;
            for (TreeItem<TreeRow> item : found) {
                int index = table.getRow(item);
                table.getSelectionModel().select(index);
                first = first < 0 ? index : Math.min(first, index);
            }
            if (first >= 0 && !isRowVisible(first)) {
                table.scrollTo(Math.max(0, first - 2));
            }
        } finally {
            following = false;
        }
    }

    private boolean isRowVisible(int index) {
        return rowCenters(table).centers().containsKey(index);
    }

    private void refreshBadges() {
        badges.clear();
        for (RowLink l : vm.links()) {
            if (l.to().side() == side) {
                badges.put(l.to(), l.label());
            }
        }
        table.refresh();
    }

    @Override
    public int shownIndex(TreeRow row) {
        return LinkedTree.shownIndex(table, itemFor(row));
    }

    @Override
    public RowCenters rowCenters(Node target) {
        return RowCenters.of(table, target);
    }

    TreeTableView<TreeRow> table() {
        return table;
    }

    /** The name column: an icon for the row's kind, the name, and the badge of a linked row. */
    private final class NameCell extends TreeTableCell<TreeRow, TreeRow> {
        NameCell() {
            FullTextTooltip.install(this);
        }

        @Override
        protected void updateItem(TreeRow row, boolean empty) {
            super.updateItem(row, empty);
            if (empty || row == null) {
                setText(null);
                setGraphic(null);
                return;
            }
            String badge = badges.get(row);
            setText(badge == null || badge.isEmpty() ? row.name() : row.name() + "  " + badge);
            FontIcon icon = new FontIcon(switch (row.kind()) {
                case MODULE -> MaterialDesignC.CUBE_OUTLINE;
                case TENSOR -> org.kordamp.ikonli.materialdesign2.MaterialDesignM.MATRIX;
                case ADAPTER_TENSOR -> org.kordamp.ikonli.materialdesign2.MaterialDesignL.LAYERS_OUTLINE;
            });
            icon.getStyleClass().add("row-icon");
            setGraphic(icon);
        }
    }
}
