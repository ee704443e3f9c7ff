package dev.fusebox.app.browse;

import dev.fusebox.app.chart.ChartCanvas;
import dev.fusebox.viewmodel.browse.RowLink;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreesViewModel;
import javafx.scene.canvas.GraphicsContext;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

/**
 * The strip between the two trees where the selected row's links to its counterparts are drawn, as curves from
 * row to row. The rows move when the trees scroll or open, so after every layout pass of the scene it measures
 * where its curves go, and paints only when they moved: painting marks the canvas dirty, which asks for another
 * pulse, so painting on every pass kept the app busy for as long as it was open.
 */
final class LinkGutter extends ChartCanvas {

    private final TreesViewModel vm;
    private final TreePane legacy;
    private final TreePane v5;
    private final Runnable afterLayout = this::redrawIfMoved;
    private List<Curve> drawn = List.of();

    LinkGutter(TreesViewModel vm, TreePane legacy, TreePane v5) {
        this.vm = vm;
        this.legacy = legacy;
        this.v5 = v5;
        setId("link-gutter");
        getStyleClass().add("link-gutter");
        sceneProperty().addListener((o, old, scene) -> {
            if (old != null) {
                old.removePostLayoutPulseListener(afterLayout);
            }
            if (scene != null) {
                scene.addPostLayoutPulseListener(afterLayout);
            }
        });
        vm.links().addListener((javafx.collections.ListChangeListener<RowLink>) c -> redraw());
    }

    /** A link's curve: where it leaves the legacy tree and where it meets the v5 one. */
    private record Curve(double left, double right) {
    }

    private void redrawIfMoved() {
        if (!curves().equals(drawn)) {
            redraw();
        }
    }

    @Override
    protected void draw(GraphicsContext g, double width, double height) {
        drawn = curves();
        g.setStroke(accent());
        g.setFill(accent());
        g.setLineWidth(1.5);
        for (Curve c : drawn) {
            g.beginPath();
            g.moveTo(0, c.left());
            g.bezierCurveTo(width * 0.5, c.left(), width * 0.5, c.right(), width, c.right());
            g.stroke();
            g.fillOval(-3, c.left() - 3, 6, 6);
            g.fillOval(width - 3, c.right() - 3, 6, 6);
        }
    }

    /** Where the links' curves go now (each tree measured once); none while no row is selected. */
    private List<Curve> curves() {
        if (vm.links().isEmpty()) {
            return List.of();
        }
        RowCenters legacyRows = legacy.rowCenters(canvas());
        RowCenters v5Rows = v5.rowCenters(canvas());
        List<Curve> curves = new ArrayList<>();
        for (RowLink l : vm.links()) {
            OptionalDouble a = (l.from().side() == Side.LEGACY ? legacyRows : v5Rows).at(pane(l.from().side())
                    .shownIndex(l.from()));
            OptionalDouble b = (l.to().side() == Side.LEGACY ? legacyRows : v5Rows).at(pane(l.to().side())
                    .shownIndex(l.to()));
            if (a.isPresent() && b.isPresent()) {
                boolean fromLegacy = l.from().side() == Side.LEGACY;
                curves.add(new Curve(fromLegacy ? a.getAsDouble() : b.getAsDouble(),
                        fromLegacy ? b.getAsDouble() : a.getAsDouble()));
            }
        }
        return curves;
    }

    private TreePane pane(Side side) {
        return side == Side.LEGACY ? legacy : v5;
    }
}
