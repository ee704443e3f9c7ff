package dev.fusebox.app.links;

import dev.fusebox.app.chart.ChartCanvas;
import javafx.beans.Observable;
import javafx.scene.canvas.GraphicsContext;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.function.Supplier;

/**
 * The strip between two trees where the selected row's links to its counterparts are drawn, as curves from row to
 * row; the model screen and the diff screen each have one. The rows move when the trees scroll or open, so after
 * every layout pass of the scene it measures where its curves go, and paints only when they moved: painting marks
 * the canvas dirty, which asks for another pulse, so painting on every pass kept the app busy for as long as it was
 * open.
 *
 * @param <R> what the trees' rows hold
 */
public final class LinkGutter<R> extends ChartCanvas {

    /** A link to draw: a row of the left tree and one of the right tree. */
    public record Link<R>(R left, R right) {
    }

    private final Supplier<List<Link<R>>> links;
    private final LinkedTree<R> left;
    private final LinkedTree<R> right;
    private final Runnable afterLayout = this::redrawIfMoved;
    private List<Curve> drawn = List.of();

    /**
     * @param changed tells when the links change
     * @param links   the links to draw now
     */
    public LinkGutter(Observable changed, Supplier<List<Link<R>>> links, LinkedTree<R> left, LinkedTree<R> right) {
        this.links = links;
        this.left = left;
        this.right = right;
        getStyleClass().add("link-gutter");
        sceneProperty().addListener((o, old, scene) -> {
            if (old != null) {
                old.removePostLayoutPulseListener(afterLayout);
            }
            if (scene != null) {
                scene.addPostLayoutPulseListener(afterLayout);
            }
        });
        changed.addListener(o -> redraw());
    }

    /** A link's curve: where it leaves the left tree and where it meets the right one. */
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

    /** Where the links' curves go now (each tree measured once); none while nothing is linked. */
    private List<Curve> curves() {
        List<Link<R>> now = links.get();
        if (now.isEmpty()) {
            return List.of();
        }
        RowCenters leftRows = left.rowCenters(canvas());
        RowCenters rightRows = right.rowCenters(canvas());
        List<Curve> curves = new ArrayList<>();
        for (Link<R> l : now) {
            OptionalDouble a = leftRows.at(left.shownIndex(l.left()));
            OptionalDouble b = rightRows.at(right.shownIndex(l.right()));
            if (a.isPresent() && b.isPresent()) {
                curves.add(new Curve(a.getAsDouble(), b.getAsDouble()));
            }
        }
        return curves;
    }
}
