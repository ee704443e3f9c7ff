package dev.fusebox.app.browse;

import dev.fusebox.app.detail.TensorDetailView;
import dev.fusebox.app.links.LinkGutter;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.browse.TreeSearch;
import dev.fusebox.viewmodel.browse.TreesViewModel;
import dev.fusebox.viewmodel.detail.TensorDetailViewModel;
import javafx.geometry.Orientation;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.SplitPane;
import javafx.scene.control.Tooltip;
import javafx.scene.input.KeyCode;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.controlsfx.control.textfield.CustomTextField;
import org.controlsfx.control.textfield.TextFields;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignC;
import org.kordamp.ikonli.materialdesign2.MaterialDesignM;

/**
 * The model screen: a search box over both trees, the legacy and v5 trees side by side with their links drawn
 * between, the detail below.
 */
public final class ModelView extends SplitPane {

    private final CustomTextField search = (CustomTextField) TextFields.createClearableTextField();

    public ModelView(TreesViewModel trees, TensorDetailViewModel detail) {
        setId("model-view");
        setOrientation(Orientation.VERTICAL);
        TreePane legacy = new TreePane(Side.LEGACY, trees);
        TreePane v5 = new TreePane(Side.V5, trees);
        LinkGutter<TreeRow> gutter = new LinkGutter<>(trees.links(), () -> trees.links().stream()
                .map(l -> l.from().side() == Side.LEGACY ? new LinkGutter.Link<>(l.from(), l.to())
                        : new LinkGutter.Link<>(l.to(), l.from()))
                .toList(), legacy, v5);
        gutter.setId("link-gutter");
        gutter.setMinWidth(56);
        gutter.setPrefWidth(56);
        gutter.setMaxWidth(56);
        HBox panes = new HBox(legacy, gutter, v5);
        panes.getStyleClass().add("tree-panes");
        HBox.setHgrow(legacy, Priority.ALWAYS);
        HBox.setHgrow(v5, Priority.ALWAYS);
        legacy.setPrefWidth(600);
        v5.setPrefWidth(600);
        VBox top = new VBox(createSearchRow(trees.search()), panes);
        VBox.setVgrow(panes, Priority.ALWAYS);
        top.setMinHeight(0);
        // The detail scrolls when the splitter leaves it less than its content needs, so the splitter moves over
        // most of the screen rather than stopping at the detail's minimum height.
        ScrollPane details = new ScrollPane(new TensorDetailView(detail));
        details.setId("detail-scroll");
        details.getStyleClass().add("detail-scroll");
        details.setFitToWidth(true);
        details.setFitToHeight(true);
        details.setHbarPolicy(ScrollPane.ScrollBarPolicy.NEVER);
        details.setMinHeight(0);
        getItems().addAll(top, details);
        setDividerPositions(0.72);
    }

    /** The search box (Enter: next match, Shift+Enter: previous), its previous and next buttons and "3 of 12". */
    private Node createSearchRow(TreeSearch vm) {
        search.setId("tree-search");
        search.setPromptText("Search both trees by key or module path — e.g. layers.3.mlp.experts");
        search.setLeft(new FontIcon(MaterialDesignM.MAGNIFY));
        search.textProperty().bindBidirectional(vm.queryProperty());
        search.setPrefColumnCount(36);
        search.setOnKeyPressed(e -> {
            if (e.getCode() == KeyCode.ENTER) {
                if (e.isShiftDown()) {
                    vm.previous();
                } else {
                    vm.next();
                }
                e.consume();
            }
        });
        Button previous = new Button(null, new FontIcon(MaterialDesignC.CHEVRON_UP));
        previous.setId("tree-search-previous");
        previous.setTooltip(new Tooltip("Previous match (Shift+Enter)"));
        previous.setOnAction(e -> vm.previous());
        Button next = new Button(null, new FontIcon(MaterialDesignC.CHEVRON_DOWN));
        next.setId("tree-search-next");
        next.setTooltip(new Tooltip("Next match (Enter)"));
        next.setOnAction(e -> vm.next());
        previous.disableProperty().bind(vm.currentProperty().lessThan(0));
        next.disableProperty().bind(vm.currentProperty().lessThan(0));
        Label status = new Label();
        status.setId("tree-search-status");
        status.getStyleClass().add("muted");
        status.textProperty().bind(vm.statusProperty());
        HBox row = new HBox(6, search, previous, next, status);
        row.getStyleClass().add("filter-row");
        return row;
    }

    /** Puts the cursor in the search box (Find, Shortcut+F, on this screen). */
    public void focusSearch() {
        search.requestFocus();
        search.selectAll();
    }
}
