package dev.fusebox.app.chart;

import dev.fusebox.converter.tensor.TensorStatistics;
import dev.fusebox.viewmodel.detail.HeatMapLayout;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.geometry.Rectangle2D;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.text.TextAlignment;

import java.util.List;
import java.util.Optional;

/**
 * A 2-D slice of a tensor as cells coloured on a diverging scale centred on zero (the theme's negative, zero and
 * positive colours), keeping the slice's aspect ratio between 1:2 and 2:1; a fused tensor's boundaries drawn across it (between slices,
 * such as experts, in the foreground colour; between parts, such as w1 and w3, in the accent colour), thinned
 * to every n-th where they would crowd, with the parts' names beside the map where there is room.
 */
public final class HeatMapChart extends ChartCanvas {

    /** Marks closer than this many pixels are thinned to every n-th. */
    private static final double MIN_MARK_GAP = 3;
    /** Labels closer than this are left out. */
    private static final double MIN_LABEL_GAP = 13;
    private static final double LABEL_ROOM = 48;
    /** Width over height of the map at its narrowest; its inverse at its widest. */
    private static final double MIN_ASPECT = 0.5;

    /** A cell of the map: its row and column. */
    public record Cell(int row, int col) {
    }

    private final ObjectProperty<TensorStatistics.HeatMap> heatMap = new SimpleObjectProperty<>(this, "heatMap");
    private final ObjectProperty<HeatMapLayout> layout = new SimpleObjectProperty<>(this, "layout");

    public HeatMapChart() {
        getStyleClass().add("heat-map-chart");
        heatMap.addListener(o -> redraw());
        layout.addListener(o -> redraw());
    }

    public ObjectProperty<TensorStatistics.HeatMap> heatMapProperty() {
        return heatMap;
    }

    /** Where the map's parts and slices lie; marks are drawn only when it belongs to the map shown. */
    public ObjectProperty<HeatMapLayout> layoutProperty() {
        return layout;
    }

    /** The map's rectangle on the canvas, labels' room kept on the right when there are parts to name. */
    private Optional<Rectangle2D> area(double width, double height) {
        TensorStatistics.HeatMap m = heatMap.get();
        if (m == null || m.sourceRows() == 0 || m.sourceCols() == 0) {
            return Optional.empty();
        }
        double room = marks().map(l -> l.rowMarks().isEmpty()).orElse(true) || width < 3 * LABEL_ROOM ? 0 : LABEL_ROOM;
        // The slice's shape, within 1:2 and 2:1: a stack of every expert (768×64) or a wide matrix kept to scale
        // would be a sliver.
        double aspect = Math.max(MIN_ASPECT, Math.min(1 / MIN_ASPECT, (double) m.sourceCols() / m.sourceRows()));
        double w = Math.min(width - room, height * aspect);
        double h = w / aspect;
        return Optional.of(new Rectangle2D(Math.floor((width - room - w) / 2), Math.floor((height - h) / 2), w, h));
    }

    /** The layout when it is the shown map's (a new map and its layout arrive one after the other). */
    private Optional<HeatMapLayout> marks() {
        HeatMapLayout l = layout.get();
        return l != null && l.heatMap().equals(heatMap.get()) ? Optional.of(l) : Optional.empty();
    }

    /** The cell under canvas point ({@code x}, {@code y}), if the point is on the map. */
    public Optional<Cell> cellAt(double x, double y) {
        TensorStatistics.HeatMap m = heatMap.get();
        return area(canvas().getWidth(), canvas().getHeight()).filter(a -> a.contains(x, y)).map(a -> new Cell(
                Math.min(m.rows() - 1, (int) ((y - a.getMinY()) / a.getHeight() * m.rows())),
                Math.min(m.cols() - 1, (int) ((x - a.getMinX()) / a.getWidth() * m.cols()))));
    }

    /** Where the map is drawn on the canvas, if a map is shown (for tests). */
    public Optional<Rectangle2D> mapArea() {
        return area(canvas().getWidth(), canvas().getHeight());
    }

    /** The canvas row of pixels a row mark is drawn on (for tests), or -1 when nothing is drawn. */
    public int rowMarkPixel(HeatMapLayout.Mark mark) {
        TensorStatistics.HeatMap m = heatMap.get();
        return area(canvas().getWidth(), canvas().getHeight())
                .map(a -> (int) Math.floor(a.getMinY() + mark.at() * a.getHeight() / m.sourceRows())).orElse(-1);
    }

    @Override
    protected void draw(GraphicsContext g, double width, double height) {
        TensorStatistics.HeatMap m = heatMap.get();
        Optional<Rectangle2D> area = area(width, height);
        if (area.isEmpty()) {
            return;
        }
        Rectangle2D a = area.get();
        double cw = a.getWidth() / m.cols();
        double ch = a.getHeight() / m.rows();
        double scale = m.maxAbs() == 0 ? 1 : m.maxAbs();
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.cols(); c++) {
                float v = m.value(r, c);
                g.setFill(Float.isNaN(v) ? muted() : diverging(v / scale));
                g.fillRect(a.getMinX() + c * cw, a.getMinY() + r * ch, Math.ceil(cw), Math.ceil(ch));
            }
        }
        marks().ifPresent(l -> {
            drawRowMarks(g, a, l.rowMarks(), m.sourceRows(), width);
            drawColMarks(g, a, l.colMarks(), m.sourceCols());
        });
        g.setStroke(grid());
        g.strokeRect(a.getMinX() + 0.5, a.getMinY() + 0.5, a.getWidth() - 1, a.getHeight() - 1);
    }

    private void drawRowMarks(GraphicsContext g, Rectangle2D a, List<HeatMapLayout.Mark> marks, long rows,
                              double width) {
        g.setLineWidth(1);
        g.setTextAlign(TextAlignment.LEFT);
        for (HeatMapLayout.Kind kind : HeatMapLayout.Kind.values()) {
            List<HeatMapLayout.Mark> of = marks.stream().filter(k -> k.kind() == kind).toList();
            int every = thinning(of.size(), a.getHeight());
            double lastLabel = Double.NEGATIVE_INFINITY;
            for (int i = every - 1; i < of.size(); i += every) {
                HeatMapLayout.Mark mark = of.get(i);
                double y = Math.floor(a.getMinY() + mark.at() * a.getHeight() / rows) + 0.5;
                g.setStroke(kind == HeatMapLayout.Kind.SLICE ? foreground() : accent());
                g.strokeLine(a.getMinX(), y, a.getMaxX(), y);
                if (a.getMaxX() + LABEL_ROOM <= width && y - lastLabel >= MIN_LABEL_GAP) {
                    g.setFill(kind == HeatMapLayout.Kind.SLICE ? foreground() : accent());
                    g.fillText(mark.label(), a.getMaxX() + 4, y + 4, LABEL_ROOM - 6);
                    lastLabel = y;
                }
            }
        }
    }

    private void drawColMarks(GraphicsContext g, Rectangle2D a, List<HeatMapLayout.Mark> marks, long cols) {
        int every = thinning(marks.size(), a.getWidth());
        g.setStroke(accent());
        for (int i = every - 1; i < marks.size(); i += every) {
            double x = Math.floor(a.getMinX() + marks.get(i).at() * a.getWidth() / cols) + 0.5;
            g.strokeLine(x, a.getMinY(), x, a.getMaxY());
        }
    }

    /** Draw every n-th of {@code count} evenly spread marks so they stay {@link #MIN_MARK_GAP} apart. */
    private static int thinning(int count, double length) {
        if (count == 0) {
            return 1;
        }
        double gap = length / (count + 1);
        return gap >= MIN_MARK_GAP ? 1 : (int) Math.ceil(MIN_MARK_GAP / gap);
    }
}
