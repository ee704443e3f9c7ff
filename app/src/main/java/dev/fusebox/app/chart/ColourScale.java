package dev.fusebox.app.chart;

import javafx.scene.canvas.GraphicsContext;

/** The heat map's diverging colour scale as a bar, negative on the left, zero in the middle, positive on the right. */
public final class ColourScale extends ChartCanvas {

    public ColourScale() {
        getStyleClass().add("colour-scale");
    }

    @Override
    protected void draw(GraphicsContext g, double width, double height) {
        for (int x = 0; x < width; x++) {
            g.setFill(diverging(2.0 * (x + 0.5) / width - 1));
            g.fillRect(x, 0, 1, height);
        }
        g.setStroke(grid());
        g.strokeRect(0.5, 0.5, width - 1, height - 1);
    }
}
