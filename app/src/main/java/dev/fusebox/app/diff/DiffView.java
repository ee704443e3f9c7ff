package dev.fusebox.app.diff;

import dev.fusebox.app.links.LinkGutter;
import dev.fusebox.app.main.FileDrop;
import dev.fusebox.app.main.FullTextTooltip;
import dev.fusebox.app.main.JobBar;
import dev.fusebox.converter.lora.AdapterDeltaNorms;
import dev.fusebox.viewmodel.diff.DiffNode;
import dev.fusebox.viewmodel.diff.DiffRow;
import dev.fusebox.viewmodel.diff.DiffViewModel;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.ListChangeListener;
import javafx.geometry.Orientation;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.SplitPane;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.TableCell;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.StackPane;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignF;
import org.kordamp.ikonli.materialdesign2.MaterialDesignM;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The diff screen: A (what is open) against B (chosen or dropped here), aware of the legacy ↔ v5 mapping, as two
 * module trees side by side coloured by what differs; on demand, by how much, with the per-layer chart below and
 * the plain list of differences beside it; for an adapter against its base, the weights it changes and by how much.
 */
public final class DiffView extends VBox {

    public DiffView(DiffViewModel vm) {
        super(10);
        setId("diff-view");
        getStyleClass().add("screen");
        Button compare = new Button("Compare With…", new FontIcon(MaterialDesignF.FILE_COMPARE));
        compare.setId("compare-action");
        compare.setOnAction(e -> vm.compareWith());
        compare.disableProperty().bind(vm.job().busyProperty());
        Button values = new Button("Compare values", new FontIcon(MaterialDesignM.MATH_INTEGRAL));
        values.setId("compare-values");
        values.disableProperty().bind(vm.canCompareValuesProperty().not());
        values.setOnAction(e -> vm.compareValues());
        Label hint = new Label("values: reads every byte of both, in the background");
        hint.getStyleClass().add("muted");
        CheckBox only = new CheckBox("Only differences");
        only.setId("diff-only-differences");
        only.selectedProperty().bindBidirectional(vm.onlyDifferencesProperty());
        HBox commands = new HBox(10, compare, values, only, hint);
        commands.setAlignment(Pos.CENTER_LEFT);

        GridPane which = new GridPane();
        which.getStyleClass().add("fact-grid");
        which.addRow(0, name("A"), path(vm.aProperty(), "diff-a"));
        which.addRow(1, name("B"), path(vm.bProperty(), "diff-b"));

        Label summary = new Label();
        summary.setId("diff-summary");
        summary.setWrapText(true);
        summary.getStyleClass().add("lead");
        summary.textProperty().bind(vm.summaryProperty());

        TableView<DiffRow> table = new TableView<>(vm.rows());
        table.setId("diff-table");
        table.setPlaceholder(new Label("No differences to list."));
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        table.getColumns().setAll(List.of(
                column("Difference", 110, r -> r.kind().label()),
                column("Tensor", 330, DiffRow::key),
                column("A", 190, DiffRow::a),
                column("B", 190, DiffRow::b),
                column("By how much", 300, DiffRow::note)));

        ScrollTogether scrolling = new ScrollTogether();
        DiffTreePane aTree = new DiffTreePane(true, vm, scrolling);
        DiffTreePane bTree = new DiffTreePane(false, vm, scrolling);
        scrolling.link(aTree.table(), bTree.table());
        LinkGutter<DiffNode> gutter = new LinkGutter<>(vm.links(), () -> vm.links().stream()
                .map(l -> new LinkGutter.Link<>(l.a(), l.b())).toList(), aTree, bTree);
        gutter.setId("diff-link-gutter");
        gutter.setMinWidth(56);
        gutter.setPrefWidth(56);
        gutter.setMaxWidth(56);
        HBox trees = new HBox(aTree, gutter, bTree);
        HBox.setHgrow(aTree, Priority.ALWAYS);
        HBox.setHgrow(bTree, Priority.ALWAYS);
        aTree.setPrefWidth(600);
        bTree.setPrefWidth(600);
        Label noValues = new Label("Compare values to see, per layer, how much each part differs.");
        noValues.getStyleClass().add("muted");
        LayerChart chart = new LayerChart(vm);
        StackPane chartArea = new StackPane(noValues, new ScrollPane(chart));
        chartArea.getChildren().getLast().visibleProperty().bind(Bindings.isNotEmpty(vm.cells()));
        noValues.visibleProperty().bind(Bindings.isEmpty(vm.cells()));
        TableView<AdapterDeltaNorms.ModuleDelta> adapter = new TableView<>(vm.adapterDeltas());
        adapter.setId("diff-adapter-table");
        adapter.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        adapter.getColumns().setAll(List.of(
                column("Weight the adapter changes", 420, AdapterDeltaNorms.ModuleDelta::weight),
                column("Shape", 110, d -> "[" + d.out() + ", " + d.in() + "]"),
                column("Rank", 60, d -> Integer.toString(d.rank())),
                column("Scale", 90, d -> String.format(Locale.ROOT, "%.4g", d.scale())),
                column("‖scale·B@A‖", 150, d -> String.format(Locale.ROOT, "%.6g", d.norm())),
                column("‖scale·B@A‖ / ‖W‖", 150, d -> d.relative().isPresent()
                        ? String.format(Locale.ROOT, "%.4g", d.relative().getAsDouble()) : "Compare values")));
        Tab adapterTab = new Tab("Adapter", adapter);
        adapterTab.setId("diff-adapter-tab");
        adapterTab.disableProperty().bind(Bindings.isEmpty(vm.adapterDeltas()));
        TabPane below = new TabPane(new Tab("Per layer", chartArea), new Tab("List", table), adapterTab);
        below.setId("diff-below");
        // An adapter against its base has no values to chart until compared; what it changes is the news.
        Runnable showDeltas = () -> {
            if (!vm.adapterDeltas().isEmpty()) {
                below.getSelectionModel().select(adapterTab);
            }
        };
        vm.adapterDeltas().addListener((ListChangeListener<AdapterDeltaNorms.ModuleDelta>) c -> showDeltas.run());
        // The view may be made after a comparison ran (it is built when its tab first shows).
        showDeltas.run();
        below.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        SplitPane split = new SplitPane(trees, below);
        split.setOrientation(Orientation.VERTICAL);
        split.setDividerPositions(0.68);
        VBox.setVgrow(split, Priority.ALWAYS);

        Label drop = new Label("Drop a checkpoint here to compare what is open with it");
        drop.setId("diff-drop");
        drop.getStyleClass().add("drop-zone");
        drop.setMaxWidth(Double.MAX_VALUE);
        drop.setAlignment(Pos.CENTER);
        FileDrop.install(drop, vm::compareWithDropped);
        getChildren().addAll(commands, which, new JobBar(vm.job(), "diff"), summary, split, drop);
    }

    private static Label name(String text) {
        Label l = new Label(text);
        l.getStyleClass().add("fact-name");
        return l;
    }

    private static Label path(javafx.beans.value.ObservableValue<java.nio.file.Path> p, String id) {
        Label l = new Label();
        l.setId(id);
        l.getStyleClass().add("fact-value");
        l.textProperty().bind(Bindings.createStringBinding(() -> p.getValue() == null ? "—" : p.getValue().toString(), p));
        return l;
    }

    private static <R> TableColumn<R, String> column(String title, double width, Function<R, String> value) {
        TableColumn<R, String> c = new TableColumn<>(title);
        c.setPrefWidth(width);
        c.setCellValueFactory(f -> new ReadOnlyStringWrapper(value.apply(f.getValue())));
        c.setCellFactory(t -> FullTextTooltip.install(new TableCell<>() {
            @Override
            protected void updateItem(String item, boolean empty) {
                super.updateItem(item, empty);
                setText(empty ? null : item);
            }
        }));
        return c;
    }
}
