package dev.fusebox.app.browse;

import dev.fusebox.app.detail.TensorDetailView;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreesViewModel;
import dev.fusebox.viewmodel.detail.TensorDetailViewModel;
import javafx.geometry.Orientation;
import javafx.scene.control.SplitPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;

/** The model screen: the legacy and v5 trees side by side with their links drawn between, the detail below. */
public final class ModelView extends SplitPane {

    public ModelView(TreesViewModel trees, TensorDetailViewModel detail) {
        setId("model-view");
        setOrientation(Orientation.VERTICAL);
        TreePane legacy = new TreePane(Side.LEGACY, trees);
        TreePane v5 = new TreePane(Side.V5, trees);
        LinkGutter gutter = new LinkGutter(trees, legacy, v5);
        gutter.setMinWidth(56);
        gutter.setPrefWidth(56);
        gutter.setMaxWidth(56);
        HBox panes = new HBox(legacy, gutter, v5);
        panes.getStyleClass().add("tree-panes");
        HBox.setHgrow(legacy, Priority.ALWAYS);
        HBox.setHgrow(v5, Priority.ALWAYS);
        legacy.setPrefWidth(600);
        v5.setPrefWidth(600);
        getItems().addAll(panes, new TensorDetailView(detail));
        setDividerPositions(0.64);
    }
}
