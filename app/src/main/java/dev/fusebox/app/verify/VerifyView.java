package dev.fusebox.app.verify;

import dev.fusebox.app.chart.LayerChart;
import dev.fusebox.app.main.JobBar;
import dev.fusebox.converter.forward.ExpertCheckResult.ExpertComparison;
import dev.fusebox.viewmodel.verify.VerifyViewModel;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.css.PseudoClass;
import javafx.geometry.Orientation;
import javafx.geometry.Pos;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.SplitPane;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.javafx.FontIcon;
import org.kordamp.ikonli.materialdesign2.MaterialDesignA;
import org.kordamp.ikonli.materialdesign2.MaterialDesignC;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The verify screen: the Verify button and its progress, the verdict, the difference after every layer as a
 * chart, and per position both sides' five best tokens.
 */
public final class VerifyView extends VBox {

    private static final PseudoClass PASSED = PseudoClass.getPseudoClass("passed");
    private static final PseudoClass FAILED = PseudoClass.getPseudoClass("failed");

    public VerifyView(VerifyViewModel vm) {
        super(10);
        setId("verify-view");
        getStyleClass().add("screen");
        Label against = new Label();
        against.getStyleClass().add("lead");
        against.setWrapText(true);
        against.textProperty().bind(vm.againstProperty());
        Button verify = new Button("Verify", new FontIcon(MaterialDesignC.CHECK_DECAGRAM_OUTLINE));
        verify.setId("verify-action");
        verify.getStyleClass().add("accent");
        verify.disableProperty().bind(vm.canVerifyProperty().not());
        verify.setOnAction(e -> vm.verify());
        Label using = new Label();
        using.getStyleClass().add("muted");
        using.setId("verify-using");
        using.textProperty().bind(vm.usingProperty());
        HBox commands = new HBox(10, verify, createOptions(vm), using);
        commands.setAlignment(Pos.CENTER_LEFT);

        Label verdict = new Label();
        verdict.setId("verify-verdict");
        verdict.getStyleClass().add("verdict");
        verdict.setWrapText(true);
        verdict.textProperty().bind(vm.verdictProperty());
        verdict.graphicProperty().bind(Bindings.createObjectBinding(() -> vm.passedProperty().get() == null ? null
                : new FontIcon(vm.passedProperty().get() ? MaterialDesignC.CHECK_CIRCLE
                : MaterialDesignA.ALERT_CIRCLE_OUTLINE), vm.passedProperty()));
        // The view may be made after a verification ran (it is built when its tab first shows).
        Runnable state = () -> {
            verdict.pseudoClassStateChanged(PASSED, Boolean.TRUE.equals(vm.passedProperty().get()));
            verdict.pseudoClassStateChanged(FAILED, Boolean.FALSE.equals(vm.passedProperty().get()));
        };
        vm.passedProperty().addListener(o -> state.run());
        state.run();
        verdict.visibleProperty().bind(vm.verdictProperty().isNotEmpty());
        verdict.managedProperty().bind(verdict.visibleProperty());
        Label details = new Label();
        details.setId("verify-details");
        details.getStyleClass().add("muted");
        details.setWrapText(true);
        details.textProperty().bind(vm.detailsProperty());
        Label checks = new Label();
        checks.setId("verify-checks");
        checks.getStyleClass().add("section-label");
        checks.textProperty().bind(vm.checksProperty());
        checks.visibleProperty().bind(vm.checksProperty().isNotEmpty());
        checks.managedProperty().bind(checks.visibleProperty());

        SplitPane results = new SplitPane(createChart(vm), createPositions(vm), createExperts(vm));
        results.setOrientation(Orientation.HORIZONTAL);
        results.setDividerPositions(0.3, 0.66);
        results.visibleProperty().bind(vm.reportProperty().isNotNull());
        VBox.setVgrow(results, Priority.ALWAYS);
        getChildren().addAll(against, commands, new JobBar(vm.job(), "verify"), verdict, checks, details, results);
    }

    /** The command line's --tokens and --layers: which token ids to run and through how many layers. */
    private static Node createOptions(VerifyViewModel vm) {
        TextField tokens = new TextField();
        tokens.setId("verify-tokens");
        tokens.setPromptText("16 spread over the vocabulary");
        tokens.setPrefColumnCount(14);
        tokens.setTooltip(new Tooltip("Token ids to run, separated by commas, e.g. 1, 2, 3 (--tokens)"));
        tokens.textProperty().bindBidirectional(vm.tokensProperty());
        TextField layers = new TextField();
        layers.setId("verify-layers");
        layers.setPromptText("all");
        layers.setPrefColumnCount(4);
        layers.setTooltip(new Tooltip("Run only the first N layers (--layers)"));
        layers.textProperty().bindBidirectional(vm.layerCountProperty());
        Label problem = new Label();
        problem.setId("verify-options-problem");
        problem.getStyleClass().add("error-text");
        problem.textProperty().bind(vm.optionsProblemProperty());
        problem.visibleProperty().bind(vm.optionsProblemProperty().isNotEmpty());
        problem.managedProperty().bind(problem.visibleProperty());
        HBox box = new HBox(6, new Label("Tokens"), tokens, new Label("Layers"), layers, problem);
        box.setId("verify-options");
        box.setAlignment(Pos.CENTER_LEFT);
        return box;
    }

    private static Node createChart(VerifyViewModel vm) {
        Label title = new Label("Largest difference after each layer");
        title.getStyleClass().add("section-label");
        LayerChart chart = new LayerChart();
        chart.setId("layer-chart");
        chart.reportProperty().bind(vm.reportProperty());
        VBox.setVgrow(chart, Priority.ALWAYS);
        VBox box = new VBox(6, title, chart);
        box.setMinWidth(220);
        return box;
    }

    private static Node createPositions(VerifyViewModel vm) {
        Label title = new Label("Per position: the five best tokens on each side, best first (hover for logits)");
        title.getStyleClass().add("section-label");
        TableView<VerifyViewModel.PositionRow> table = new TableView<>(vm.positions());
        table.setId("positions-table");
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        table.getColumns().setAll(List.of(
                column("Pos", 40, r -> Integer.toString(r.position())),
                column("Token", 55, r -> Integer.toString(r.token())),
                column("Max |Δ|", 75, r -> r.maxAbsDiff() == 0 ? "0" : String.format(Locale.ROOT, "%.1e", r.maxAbsDiff())),
                column("Top-1", 50, r -> r.top1Agrees() ? "same" : "differs"),
                column("Source top-5", 200, VerifyViewModel.PositionRow::sourceTop5),
                column("Converted top-5", 200, VerifyViewModel.PositionRow::convertedTop5)));
        table.setRowFactory(t -> new javafx.scene.control.TableRow<>() {
            @Override
            protected void updateItem(VerifyViewModel.PositionRow row, boolean empty) {
                super.updateItem(row, empty);
                setTooltip(empty || row == null ? null : new javafx.scene.control.Tooltip(
                        "source:    " + row.sourceLogits() + "\nconverted: " + row.convertedLogits()));
            }
        });
        VBox.setVgrow(table, Priority.ALWAYS);
        return new VBox(6, title, table);
    }

    private static Node createExperts(VerifyViewModel vm) {
        Label title = new Label("Expert check: every expert of every layer, both layouts");
        title.getStyleClass().add("section-label");
        TableView<ExpertComparison> table = new TableView<>(vm.experts());
        table.setId("experts-table");
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        table.getColumns().setAll(List.of(
                column("Layer", 45, (ExpertComparison e) -> Integer.toString(e.layer())),
                column("Expert", 50, (ExpertComparison e) -> Integer.toString(e.expert())),
                column("Max |Δ|", 75, (ExpertComparison e) -> e.maxAbsDiff() == 0 ? "0"
                        : String.format(Locale.ROOT, "%.1e", e.maxAbsDiff())),
                column("Result", 55, (ExpertComparison e) -> e.passed() ? "same" : "differs"),
                column("Converted", 200, (ExpertComparison e) -> e.convertedBlock() + " [" + e.convertedExpert()
                        + "], " + e.convertedStorage() + ", " + e.function())));
        VBox.setVgrow(table, Priority.ALWAYS);
        return new VBox(6, title, table);
    }

    private static <R> TableColumn<R, String> column(
            String title, double width, Function<R, String> value) {
        TableColumn<R, String> c = new TableColumn<>(title);
        c.setPrefWidth(width);
        c.setCellValueFactory(f -> new ReadOnlyStringWrapper(value.apply(f.getValue())));
        c.setSortable(false);
        return c;
    }
}
