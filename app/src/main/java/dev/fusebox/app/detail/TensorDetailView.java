package dev.fusebox.app.detail;

import dev.fusebox.app.chart.ColourScale;
import dev.fusebox.app.chart.HeatMapChart;
import dev.fusebox.app.chart.HistogramChart;
import dev.fusebox.converter.tensor.TensorStatistics;
import dev.fusebox.viewmodel.detail.TensorDetailViewModel;
import javafx.beans.binding.Bindings;
import javafx.collections.ListChangeListener;
import javafx.collections.ObservableList;
import javafx.geometry.Pos;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.Spinner;
import javafx.scene.control.SpinnerValueFactory;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignC;

/**
 * The tensor detail pane: facts about the selected row on the left, then its statistics (computed on demand),
 * its histogram and a heat map of one slice.
 */
public final class TensorDetailView extends HBox {

    private final TensorDetailViewModel vm;

    public TensorDetailView(TensorDetailViewModel vm) {
        this.vm = vm;
        setId("tensor-detail");
        getStyleClass().add("tensor-detail");
        Node facts = createFacts();
        Node statistics = createStatistics();
        Node histogram = createHistogram();
        Node heatMap = createHeatMap();
        HBox.setHgrow(facts, Priority.ALWAYS);
        HBox.setHgrow(histogram, Priority.ALWAYS);
        HBox.setHgrow(heatMap, Priority.ALWAYS);
        getChildren().addAll(facts, statistics, histogram, heatMap);
    }

    private Node createFacts() {
        Label title = new Label();
        title.setId("detail-title");
        title.getStyleClass().add("detail-title");
        title.textProperty().bind(vm.titleProperty());
        title.setWrapText(true);
        GridPane grid = factGrid(vm.facts(), "detail-facts");
        VBox box = new VBox(6, title, grid);
        box.getStyleClass().add("detail-section");
        box.setMinWidth(260);
        box.setPrefWidth(380);
        return box;
    }

    private Node createStatistics() {
        Button compute = new Button("Compute statistics", new FontIcon(MaterialDesignC.CHART_BELL_CURVE));
        compute.setId("compute-statistics");
        compute.disableProperty().bind(vm.canComputeStatisticsProperty().not());
        compute.setOnAction(e -> vm.computeStatistics());
        ProgressBar progress = new ProgressBar();
        progress.setId("statistics-progress");
        progress.progressProperty().bind(vm.job().progressProperty());
        progress.visibleProperty().bind(vm.job().busyProperty());
        progress.managedProperty().bind(progress.visibleProperty());
        progress.setMaxWidth(Double.MAX_VALUE);
        Label note = new Label();
        note.getStyleClass().add("muted");
        note.setWrapText(true);
        note.textProperty().bind(vm.statisticsNoteProperty());
        note.visibleProperty().bind(vm.statisticsProperty().isNull());
        note.managedProperty().bind(note.visibleProperty());
        GridPane grid = factGrid(vm.statisticsFacts(), "statistics-facts");
        VBox box = new VBox(6, compute, progress, note, grid);
        box.getStyleClass().add("detail-section");
        box.setMinWidth(200);
        box.setPrefWidth(220);
        box.setMaxWidth(240);
        return box;
    }

    private Node createHistogram() {
        HistogramChart chart = new HistogramChart();
        chart.setId("histogram");
        chart.histogramProperty().bind(Bindings.createObjectBinding(() -> {
            TensorStatistics s = vm.statisticsProperty().get();
            return s == null ? null : s.histogram();
        }, vm.statisticsProperty()));
        VBox.setVgrow(chart, Priority.ALWAYS);
        VBox box = new VBox(4, sectionLabel("Histogram"), chart);
        box.getStyleClass().add("detail-section");
        box.setMinWidth(160);
        return box;
    }

    private Node createHeatMap() {
        HeatMapChart chart = new HeatMapChart();
        chart.setId("heat-map");
        chart.heatMapProperty().bind(Bindings.createObjectBinding(() -> {
            TensorStatistics s = vm.statisticsProperty().get();
            return s == null ? null : s.heatMap();
        }, vm.statisticsProperty()));
        Label slice = new Label();
        slice.getStyleClass().add("muted");
        slice.textProperty().bind(Bindings.createStringBinding(() -> {
            TensorStatistics s = vm.statisticsProperty().get();
            return s == null ? "" : s.heatMap().slice() + " · " + s.heatMap().sourceRows() + "×"
                    + s.heatMap().sourceCols();
        }, vm.statisticsProperty()));
        Spinner<Integer> index = new Spinner<>();
        index.setId("slice-index");
        index.setPrefWidth(80);
        index.setEditable(true);
        SpinnerValueFactory.IntegerSpinnerValueFactory values = new SpinnerValueFactory.IntegerSpinnerValueFactory(0, 0);
        values.maxProperty().bind(Bindings.max(0, vm.sliceCountProperty().subtract(1)));
        index.setValueFactory(values);
        values.valueProperty().addListener((o, a, b) -> vm.sliceIndexProperty().set(b == null ? 0 : b));
        vm.sliceIndexProperty().addListener((o, a, b) -> values.setValue(b.intValue()));
        index.disableProperty().bind(vm.wholeTensorProperty());
        Label indexLabel = new Label("index");
        CheckBox whole = new CheckBox("all");
        whole.setId("heat-map-whole");
        whole.setTooltip(new Tooltip("Every slice (each expert) stacked, one above the other"));
        whole.selectedProperty().bindBidirectional(vm.wholeTensorProperty());
        HBox chooser = new HBox(6, indexLabel, index, whole);
        chooser.getStyleClass().add("slice-chooser");
        chooser.visibleProperty().bind(vm.sliceCountProperty().greaterThan(0));
        chooser.managedProperty().bind(chooser.visibleProperty());
        HBox head = new HBox(8, sectionLabel("Heat map"), slice, chooser);
        head.getStyleClass().add("section-head");
        chart.layoutProperty().bind(vm.layoutProperty());
        chart.canvas().setOnMouseMoved(e -> chart.cellAt(e.getX(), e.getY())
                .ifPresentOrElse(c -> vm.hover(c.row(), c.col()), vm::clearHover));
        chart.canvas().setOnMouseExited(e -> vm.clearHover());
        Label hover = new Label();
        hover.setId("heat-map-hover");
        hover.getStyleClass().add("muted");
        hover.textProperty().bind(vm.hoverProperty());
        hover.setMinHeight(Region.USE_PREF_SIZE);
        VBox.setVgrow(chart, Priority.ALWAYS);
        VBox box = new VBox(4, head, chart, createLegend(), hover);
        box.getStyleClass().add("detail-section");
        box.setMinWidth(200);
        return box;
    }

    /** The colour scale under the map: its negative end, the bar, its positive end. */
    private Node createLegend() {
        Label low = new Label();
        low.setId("heat-map-legend-low");
        Label high = new Label();
        high.setId("heat-map-legend-high");
        for (Label l : new Label[] {low, high}) {
            l.getStyleClass().add("muted");
        }
        low.textProperty().bind(Bindings.createStringBinding(() -> vm.legendProperty().get() == null ? ""
                : vm.legendProperty().get().low(), vm.legendProperty()));
        high.textProperty().bind(Bindings.createStringBinding(() -> vm.legendProperty().get() == null ? ""
                : vm.legendProperty().get().high(), vm.legendProperty()));
        ColourScale bar = new ColourScale();
        bar.setId("heat-map-scale");
        bar.setPrefSize(140, 10);
        bar.setMinSize(40, 10);
        bar.setMaxHeight(10);
        HBox.setHgrow(bar, Priority.SOMETIMES);
        HBox legend = new HBox(6, low, bar, high);
        legend.setId("heat-map-legend");
        legend.setAlignment(Pos.CENTER);
        legend.visibleProperty().bind(vm.legendProperty().isNotNull());
        legend.managedProperty().bind(legend.visibleProperty());
        return legend;
    }

    private static Label sectionLabel(String text) {
        Label l = new Label(text);
        l.getStyleClass().add("section-label");
        return l;
    }

    /** Two columns, name and value, rebuilt when the list changes. */
    private static GridPane factGrid(ObservableList<TensorDetailViewModel.Fact> facts, String id) {
        GridPane grid = new GridPane();
        grid.setId(id);
        grid.getStyleClass().add("fact-grid");
        Runnable fill = () -> {
            grid.getChildren().clear();
            int row = 0;
            for (TensorDetailViewModel.Fact f : facts) {
                Label name = new Label(f.name());
                name.getStyleClass().add("fact-name");
                name.setMinWidth(Region.USE_PREF_SIZE);
                Label value = new Label(f.value());
                value.getStyleClass().add("fact-value");
                value.setWrapText(true);
                grid.addRow(row++, name, value);
            }
        };
        facts.addListener((ListChangeListener<TensorDetailViewModel.Fact>) c -> fill.run());
        fill.run();
        return grid;
    }
}
