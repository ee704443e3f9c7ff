package dev.fusebox.app.browse;

import dev.fusebox.app.chart.ChartCanvas;
import dev.fusebox.viewmodel.browse.RowLink;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreesViewModel;
import javafx.scene.canvas.GraphicsContext;

import java.util.OptionalDouble;

/**
 * The strip between the two trees where the selected row's links to its counterparts are drawn, as curves from
 * row to row. The rows move when the trees scroll or open, so it redraws after every layout pass of the scene
 * while there are links.
 */
final class LinkGutter extends ChartCanvas {

    private final TreesViewModel vm;
    private final TreePane legacy;
    private final TreePane v5;
    private final Runnable afterLayout = this::redraw;

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

    @Override
    protected void draw(GraphicsContext g, double width, double height) {
        if (vm.links().isEmpty()) {
            return;
        }
        g.setStroke(accent());
        g.setFill(accent());
        g.setLineWidth(1.5);
        for (RowLink l : vm.links()) {
            OptionalDouble a = pane(l.from().side()).rowCenter(l.from(), canvas());
            OptionalDouble b = pane(l.to().side()).rowCenter(l.to(), canvas());
            if (a.isEmpty() || b.isEmpty()) {
                continue;
            }
            double yl = l.from().side() == Side.LEGACY ? a.getAsDouble() : b.getAsDouble();
            double yr = l.from().side() == Side.LEGACY ? b.getAsDouble() : a.getAsDouble();
            g.beginPath();
            g.moveTo(0, yl);
            g.bezierCurveTo(width * 0.5, yl, width * 0.5, yr, width, yr);
            g.stroke();
            g.fillOval(-3, yl - 3, 6, 6);
            g.fillOval(width - 3, yr - 3, 6, 6);
        }
    }

    private TreePane pane(Side side) {
        return side == Side.LEGACY ? legacy : v5;
    }
}
