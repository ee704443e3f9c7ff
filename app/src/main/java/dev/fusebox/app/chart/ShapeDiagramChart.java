package dev.fusebox.app.chart;

import dev.fusebox.viewmodel.mapping.ShapeDiagram;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.geometry.VPos;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.paint.Color;
import javafx.scene.text.Font;
import javafx.scene.text.FontWeight;
import javafx.scene.text.TextAlignment;

/**
 * How the sources of a target tensor fill it, to scale: a rank-3 target ([E, A, B], say the fused
 * {@code gate_up_proj}) is drawn as E panels of A×B side by side, one per index of its first axis, a rank-2 target
 * as one panel; each source is a block where it lands, coloured by its role (w1, w3, w2, ...) with the same
 * colour in every diagram of a plan. A legend of the roles sits above the panels.
 */
public final class ShapeDiagramChart extends ChartCanvas {

    private static final int MOST_PANELS = 16;
    private static final double GAP = 10;
    private static final double LEGEND = 22;
    private static final double CAPTION = 18;

    private final ObjectProperty<ShapeDiagram> diagram = new SimpleObjectProperty<>(this, "diagram");

    public ShapeDiagramChart() {
        getStyleClass().add("shape-diagram");
        diagram.addListener(o -> redraw());
    }

    public ObjectProperty<ShapeDiagram> diagramProperty() {
        return diagram;
    }

    @Override
    protected void draw(GraphicsContext g, double width, double height) {
        ShapeDiagram d = diagram.get();
        if (d == null) {
            return;
        }
        drawLegend(g, d, width);
        long[] dims = d.shape().dims();
        int rank = dims.length;
        long panels = rank >= 3 ? dims[0] : 1;
        long rows = rank >= 2 ? dims[rank - 2] : 1;
        long cols = rank >= 1 ? dims[rank - 1] : 1;
        int shown = (int) Math.min(panels, MOST_PANELS);
        double areaW = width - GAP * (shown - 1) - (panels > shown ? 60 : 0);
        double areaH = height - LEGEND - CAPTION - 4;
        double scale = Math.min(areaW / (shown * (double) cols), areaH / rows);
        double pw = Math.max(2, cols * scale);
        double ph = Math.max(rank == 1 ? 14 : 2, rows * scale);
        double top = LEGEND + 2;
        g.setFont(Font.font(11));
        for (int p = 0; p < shown; p++) {
            double x0 = p * (pw + GAP);
            g.setFill(grid());
            g.fillRect(x0, top, pw, ph);
            for (ShapeDiagram.Block b : d.blocks()) {
                long first = rank >= 3 ? b.start(0) : 0;
                long count = rank >= 3 ? b.extent(0) : 1;
                if (p < first || p >= first + count) {
                    continue;
                }
                double bx = x0 + (rank >= 1 ? b.start(rank - 1) : 0) * scale;
                double by = top + (rank >= 2 ? b.start(rank - 2) : 0) * scale;
                double bw = (rank >= 1 ? b.extent(rank - 1) : 1) * scale;
                double bh = rank >= 2 ? b.extent(rank - 2) * scale : ph;
                Color c = series(b.role());
                g.setFill(c.deriveColor(0, 1, 1, 0.85));
                g.fillRect(bx, by, Math.max(1, bw), Math.max(1, bh));
                g.setStroke(c.darker());
                g.strokeRect(bx + 0.5, by + 0.5, Math.max(0, bw - 1), Math.max(0, bh - 1));
                String role = d.roles().get(b.role());
                if (bw > 24 && bh > 14) {
                    g.setFill(readableOn(c));
                    g.setTextAlign(TextAlignment.CENTER);
                    g.setTextBaseline(VPos.CENTER);
                    g.fillText(role, bx + bw / 2, by + bh / 2, bw - 4);
                }
            }
            g.setFill(muted());
            g.setTextAlign(TextAlignment.CENTER);
            g.setTextBaseline(VPos.TOP);
            if (rank >= 3) {
                g.fillText("[" + p + "]", x0 + pw / 2, top + ph + 3, pw + GAP);
            }
        }
        if (panels > shown) {
            g.setFill(muted());
            g.setTextAlign(TextAlignment.LEFT);
            g.setTextBaseline(VPos.CENTER);
            g.fillText("+ " + (panels - shown) + " more", shown * (pw + GAP), top + ph / 2);
        }
    }

    private void drawLegend(GraphicsContext g, ShapeDiagram d, double width) {
        g.setFont(Font.font(null, FontWeight.NORMAL, 11));
        g.setTextBaseline(VPos.CENTER);
        g.setTextAlign(TextAlignment.LEFT);
        double x = 0;
        for (int role = 0; role < d.roles().size(); role++) {
            final int r = role;
            if (d.blocks().stream().noneMatch(b -> b.role() == r)) {
                continue;
            }
            String name = d.roles().get(role);
            g.setFill(series(role));
            g.fillRect(x, 5, 12, 12);
            g.setFill(foreground());
            g.fillText(name, x + 16, 11);
            x += 16 + name.length() * 6.5 + 14;
            if (x > width) {
                break;
            }
        }
    }

    /** Black or white, whichever reads better on {@code c}. */
    private static Color readableOn(Color c) {
        double luminance = 0.2126 * c.getRed() + 0.7152 * c.getGreen() + 0.0722 * c.getBlue();
        return luminance > 0.55 ? Color.BLACK : Color.WHITE;
    }
}
