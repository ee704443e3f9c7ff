package dev.fusebox.app.diff;

import dev.fusebox.converter.convert.DiffSummary;
import dev.fusebox.viewmodel.diff.DiffViewModel;
import dev.fusebox.viewmodel.diff.Figures;
import javafx.collections.ListChangeListener;
import javafx.css.PseudoClass;
import javafx.scene.control.Label;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.GridPane;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The per-layer chart: one row per decoder layer (and one for what lies outside them), one column per part of a
 * layer (attention, router, each expert, the shared expert, the rest), each cell coloured by the heat level of its
 * relative difference (log scale). Clicking a cell selects its tensors in both trees.
 */
final class LayerChart extends GridPane {

    LayerChart(DiffViewModel vm) {
        setId("layer-chart");
        getStyleClass().add("layer-chart");
        vm.cells().addListener((ListChangeListener<DiffSummary.Cell>) c -> draw(vm));
        draw(vm);
    }

    private void draw(DiffViewModel vm) {
        getChildren().clear();
        List<DiffSummary.Cell> cells = vm.cells();
        if (cells.isEmpty()) {
            return;
        }
        TreeSet<String> groupSet = new TreeSet<>(DiffSummary.GROUP_ORDER);
        cells.forEach(c -> groupSet.add(c.group()));
        List<String> groups = new ArrayList<>(groupSet);
        List<Integer> layers = new ArrayList<>(new TreeSet<>(cells.stream().map(DiffSummary.Cell::layer).toList()));
        for (int g = 0; g < groups.size(); g++) {
            Label head = new Label(groups.get(g).replace("expert ", "e"));
            head.getStyleClass().add("layer-chart-head");
            head.setTooltip(new Tooltip(groups.get(g)));
            add(head, g + 1, 0);
        }
        for (int l = 0; l < layers.size(); l++) {
            int layer = layers.get(l);
            Label name = new Label(layer < 0 ? "outside" : "layer " + layer);
            name.getStyleClass().add("layer-chart-head");
            add(name, 0, l + 1);
        }
        for (DiffSummary.Cell cell : cells) {
            Label box = new Label();
            box.setId("cell-" + (cell.layer() < 0 ? "outside" : cell.layer()) + "-" + cell.group().replace(' ', '-'));
            box.getStyleClass().add("layer-cell");
            box.pseudoClassStateChanged(PseudoClass.getPseudoClass("heat-" + Figures.heat(cell.difference())), true);
            box.setTooltip(new Tooltip((cell.layer() < 0 ? "outside the layers" : "layer " + cell.layer()) + ", "
                    + cell.group() + ": ‖a−b‖/‖a‖ " + Figures.relative(cell.difference()) + ", max |a−b| "
                    + Figures.maxAbs(cell.difference())));
            box.setOnMouseClicked(e -> vm.selectCell(cell));
            add(box, groups.indexOf(cell.group()) + 1, layers.indexOf(cell.layer()) + 1);
        }
    }
}
