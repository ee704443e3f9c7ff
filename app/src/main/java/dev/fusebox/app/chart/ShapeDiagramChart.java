package dev.fusebox.app.chart;

import dev.fusebox.viewmodel.mapping.PanelStrip;
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
 * colour in every diagram of a plan. A legend of the roles sits above the panels. Too many panels to draw to scale
 * (a 256-expert tensor) are drawn as thin bands, every one of them, labelled every Nth ({@link PanelStrip}).
 */
public final class ShapeDiagramChart extends ChartCanvas {

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
        int panels = (int) Math.min(Integer.MAX_VALUE, rank >= 3 ? dims[0] : 1);
        long rows = rank >= 2 ? dims[rank - 2] : 1;
        long cols = rank >= 1 ? dims[rank - 1] : 1;
        double areaH = height - LEGEND - CAPTION - 4;
        g.setFont(Font.font(11));
        String widest = "[" + (panels - 1) + "]";
        PanelStrip strip = PanelStrip.fit(panels, cols * (areaH / rows), width, widest.length() * 6.5 + 10);
        double scale = Math.min(strip.width() / cols, areaH / rows);
        // Panels to scale keep the tensor's proportions; bands fill the height, each expert a thin column.
        double pw = strip.bands() ? strip.width() : Math.max(2, cols * scale);
        double ph = strip.bands() ? areaH : Math.max(rank == 1 ? 14 : 2, rows * scale);
        double sx = pw / cols;
        double sy = ph / rows;
        double top = LEGEND + 2;
        for (int p = 0; p < panels; p++) {
            double x0 = p * strip.step();
            g.setFill(grid());
            g.fillRect(x0, top, pw, ph);
            for (ShapeDiagram.Block b : d.blocks()) {
                long first = rank >= 3 ? b.start(0) : 0;
                long count = rank >= 3 ? b.extent(0) : 1;
                if (p < first || p >= first + count) {
                    continue;
                }
                double bx = x0 + (rank >= 1 ? b.start(rank - 1) : 0) * sx;
                double by = top + (rank >= 2 ? b.start(rank - 2) : 0) * sy;
                double bw = (rank >= 1 ? b.extent(rank - 1) : 1) * sx;
                double bh = rank >= 2 ? b.extent(rank - 2) * sy : ph;
                Color c = series(b.role());
                g.setFill(c.deriveColor(0, 1, 1, 0.85));
                g.fillRect(bx, by, Math.max(strip.bands() ? 0.5 : 1, bw), Math.max(1, bh));
                if (!strip.bands()) {
                    g.setStroke(c.darker());
                    g.strokeRect(bx + 0.5, by + 0.5, Math.max(0, bw - 1), Math.max(0, bh - 1));
                }
                String role = d.roles().get(b.role());
                if (bw > 24 && bh > 14) {
                    g.setFill(readableOn(c));
                    g.setTextAlign(TextAlignment.CENTER);
                    g.setTextBaseline(VPos.CENTER);
                    g.fillText(role, bx + bw / 2, by + bh / 2, bw - 4);
                }
            }
            if (rank >= 3 && strip.labelled(p)) {
                g.setFill(muted());
                g.setTextAlign(strip.bands() ? TextAlignment.LEFT : TextAlignment.CENTER);
                g.setTextBaseline(VPos.TOP);
                String label = "[" + p + "]";
                if (strip.bands()) {
                    g.fillRect(x0, top + ph, 1, 3);
                    g.fillText(label, x0, top + ph + 3);
                } else {
                    g.fillText(label, x0 + pw / 2, top + ph + 3, strip.step());
                }
            }
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
