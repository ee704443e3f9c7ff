package dev.fusebox.app.chart;

import dev.fusebox.converter.tensor.TensorStatistics;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.scene.canvas.GraphicsContext;

/**
 * A 2-D slice of a tensor as cells coloured on a diverging scale centred on zero (the theme's negative, zero and
 * positive colours), keeping the slice's aspect ratio.
 */
public final class HeatMapChart extends ChartCanvas {

    private final ObjectProperty<TensorStatistics.HeatMap> heatMap = new SimpleObjectProperty<>(this, "heatMap");

    public HeatMapChart() {
        getStyleClass().add("heat-map-chart");
        heatMap.addListener(o -> redraw());
    }

    public ObjectProperty<TensorStatistics.HeatMap> heatMapProperty() {
        return heatMap;
    }

    @Override
    protected void draw(GraphicsContext g, double width, double height) {
        TensorStatistics.HeatMap m = heatMap.get();
        if (m == null) {
            return;
        }
        double aspect = (double) m.sourceCols() / m.sourceRows();
        double w = Math.min(width, height * aspect);
        double h = w / aspect;
        double x0 = (width - w) / 2;
        double y0 = (height - h) / 2;
        double cw = w / m.cols();
        double ch = h / m.rows();
        double scale = m.maxAbs() == 0 ? 1 : m.maxAbs();
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.cols(); c++) {
                float v = m.value(r, c);
                g.setFill(Float.isNaN(v) ? muted() : diverging(v / scale));
                g.fillRect(x0 + c * cw, y0 + r * ch, Math.ceil(cw), Math.ceil(ch));
            }
        }
        g.setStroke(grid());
        g.strokeRect(x0 + 0.5, y0 + 0.5, w - 1, h - 1);
    }
}
