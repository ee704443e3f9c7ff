package dev.fusebox.app.chart;

import dev.fusebox.converter.forward.VerificationReport;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.geometry.VPos;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.text.TextAlignment;

import java.util.List;
import java.util.Locale;

/**
 * The largest difference of the residual stream after each layer, as bars on a log scale from 1e-10 up, each with
 * its layer's tolerance (relative to the size of the hidden states there) as a dashed line across it: green bars
 * are within it, red ones beyond. A difference of exactly zero (bytes moved, nothing recomputed) is a short bar
 * labelled 0 at the bottom.
 */
public final class LayerChart extends ChartCanvas {

    private static final double FLOOR = -10;
    private static final double LEFT = 44;
    private static final double BOTTOM = 34;

    private final ObjectProperty<VerificationReport> report = new SimpleObjectProperty<>(this, "report");

    public LayerChart() {
        getStyleClass().add("layer-chart");
        report.addListener(o -> redraw());
    }

    public ObjectProperty<VerificationReport> reportProperty() {
        return report;
    }

    @Override
    protected void draw(GraphicsContext g, double width, double height) {
        VerificationReport r = report.get();
        if (r == null) {
            return;
        }
        List<VerificationReport.LayerComparison> layers = r.layers();
        double top = Math.max(0, Math.ceil(Math.log10(Math.max(
                layers.stream().mapToDouble(VerificationReport.LayerComparison::tolerance).max().orElse(0),
                layers.stream().mapToDouble(VerificationReport.LayerComparison::maxAbsDiff).max().orElse(0)))));
        double plotH = height - BOTTOM - 8;
        double plotW = width - LEFT - 4;
        g.setTextBaseline(VPos.CENTER);
        g.setTextAlign(TextAlignment.RIGHT);
        for (double e = FLOOR; e <= top; e += 2) {
            double y = y(e, top, plotH);
            g.setStroke(grid());
            g.setLineWidth(1);
            g.strokeLine(LEFT, y + 0.5, width, y + 0.5);
            g.setFill(muted());
            g.fillText("1e" + (int) e, LEFT - 4, y);
        }
        int n = layers.size();
        double slot = plotW / Math.max(1, n);
        double bar = Math.min(48, slot * 0.6);
        for (int i = 0; i < n; i++) {
            VerificationReport.LayerComparison l = layers.get(i);
            double x = LEFT + slot * i + (slot - bar) / 2;
            double v = l.maxAbsDiff();
            double ty = y(Math.log10(l.tolerance()), top, plotH);
            g.setStroke(bad());
            g.setLineDashes(6, 4);
            g.strokeLine(LEFT + slot * i + 4, ty, LEFT + slot * (i + 1) - 4, ty);
            g.setLineDashes();
            g.setFill(bad());
            g.setTextAlign(TextAlignment.LEFT);
            g.setTextBaseline(VPos.BOTTOM);
            g.fillText("tolerance " + String.format(Locale.ROOT, "%.0e", l.tolerance()), LEFT + slot * i + 6, ty - 2);
            double yTop = v > 0 ? y(Math.max(FLOOR, Math.log10(v)), top, plotH) : plotH;
            g.setFill(v <= l.tolerance() ? good() : bad());
            g.fillRect(x, yTop, bar, Math.max(3, plotH + 4 - yTop));
            g.setFill(foreground());
            g.setTextAlign(TextAlignment.CENTER);
            g.setTextBaseline(VPos.BOTTOM);
            g.fillText(v == 0 ? "0" : String.format(Locale.ROOT, "%.1e", v), x + bar / 2, yTop - 2);
            g.setFill(muted());
            g.setTextBaseline(VPos.TOP);
            g.fillText("layer " + l.index(), x + bar / 2, plotH + 8);
            g.fillText(l.dense() ? "dense MLP" : "router " + l.routerAgreement() + "/" + r.tokens().size(),
                    x + bar / 2, plotH + 21);
        }
    }

    /** The y of 10^exponent, with 10^top at the top and 10^FLOOR at the bottom of the plot. */
    private static double y(double exponent, double top, double plotH) {
        return 4 + (top - exponent) / (top - FLOOR) * plotH;
    }
}
