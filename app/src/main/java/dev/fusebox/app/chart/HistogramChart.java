package dev.fusebox.app.chart;

import dev.fusebox.converter.tensor.TensorStatistics;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.geometry.VPos;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.text.TextAlignment;

import java.util.Locale;

/** Bars of a tensor's value histogram, with the range written under them. */
public final class HistogramChart extends ChartCanvas {

    private final ObjectProperty<TensorStatistics.Histogram> histogram = new SimpleObjectProperty<>(this, "histogram");

    public HistogramChart() {
        getStyleClass().add("histogram-chart");
        histogram.addListener(o -> redraw());
    }

    public ObjectProperty<TensorStatistics.Histogram> histogramProperty() {
        return histogram;
    }

    @Override
    protected void draw(GraphicsContext g, double width, double height) {
        TensorStatistics.Histogram h = histogram.get();
        double bottom = height - 16;
        g.setStroke(grid());
        g.strokeLine(0, bottom + 0.5, width, bottom + 0.5);
        if (h == null || h.peak() == 0) {
            return;
        }
        long[] counts = h.counts();
        double bar = width / counts.length;
        g.setFill(accent());
        for (int i = 0; i < counts.length; i++) {
            double bh = (bottom - 4) * counts[i] / h.peak();
            g.fillRect(i * bar + 0.5, bottom - bh, Math.max(1, bar - 1), bh);
        }
        g.setFill(muted());
        g.setTextBaseline(VPos.BOTTOM);
        g.setTextAlign(TextAlignment.LEFT);
        g.fillText(format(h.low()), 0, height);
        g.setTextAlign(TextAlignment.RIGHT);
        g.fillText(format(h.high()), width, height);
    }

    private static String format(double v) {
        return String.format(Locale.ROOT, Math.abs(v) < 1e-3 && v != 0 ? "%.2e" : "%.4f", v);
    }
}
