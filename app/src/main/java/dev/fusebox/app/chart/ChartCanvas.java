package dev.fusebox.app.chart;

import javafx.css.CssMetaData;
import javafx.css.Styleable;
import javafx.css.StyleableProperty;
import javafx.css.StyleablePropertyFactory;
import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.layout.Region;
import javafx.scene.paint.Color;
import javafx.scene.text.Font;

import java.util.List;

/**
 * A region that paints itself on a canvas, with its colours as CSS properties ({@code -fb-chart-foreground},
 * {@code -fb-chart-series1}, ...), so stylesheets give charts their colours from the theme's variables like any
 * other control. Subclasses draw in {@link #draw}; it runs again when the size or a colour changes, or when they
 * call {@link #redraw()}.
 */
public abstract class ChartCanvas extends Region {

    private static final StyleablePropertyFactory<ChartCanvas> CSS =
            new StyleablePropertyFactory<>(Region.getClassCssMetaData());

    private final StyleableProperty<Color> foreground = CSS.createStyleableColorProperty(this, "foreground",
            "-fb-chart-foreground", c -> c.foreground, Color.BLACK);
    private final StyleableProperty<Color> muted = CSS.createStyleableColorProperty(this, "muted",
            "-fb-chart-muted", c -> c.muted, Color.GRAY);
    private final StyleableProperty<Color> grid = CSS.createStyleableColorProperty(this, "grid",
            "-fb-chart-grid", c -> c.grid, Color.LIGHTGRAY);
    private final StyleableProperty<Color> accent = CSS.createStyleableColorProperty(this, "accent",
            "-fb-chart-accent", c -> c.accent, Color.ROYALBLUE);
    private final StyleableProperty<Color> good = CSS.createStyleableColorProperty(this, "good",
            "-fb-chart-good", c -> c.good, Color.GREEN);
    private final StyleableProperty<Color> bad = CSS.createStyleableColorProperty(this, "bad",
            "-fb-chart-bad", c -> c.bad, Color.RED);
    private final StyleableProperty<Color> negative = CSS.createStyleableColorProperty(this, "negative",
            "-fb-chart-negative", c -> c.negative, Color.BLUE);
    private final StyleableProperty<Color> zero = CSS.createStyleableColorProperty(this, "zero",
            "-fb-chart-zero", c -> c.zero, Color.WHITE);
    private final StyleableProperty<Color> positive = CSS.createStyleableColorProperty(this, "positive",
            "-fb-chart-positive", c -> c.positive, Color.RED);
    private final StyleableProperty<Color> series1 = CSS.createStyleableColorProperty(this, "series1",
            "-fb-chart-series1", c -> c.series1, Color.ROYALBLUE);
    private final StyleableProperty<Color> series2 = CSS.createStyleableColorProperty(this, "series2",
            "-fb-chart-series2", c -> c.series2, Color.SEAGREEN);
    private final StyleableProperty<Color> series3 = CSS.createStyleableColorProperty(this, "series3",
            "-fb-chart-series3", c -> c.series3, Color.DARKORANGE);
    private final StyleableProperty<Color> series4 = CSS.createStyleableColorProperty(this, "series4",
            "-fb-chart-series4", c -> c.series4, Color.GRAY);

    private final Canvas canvas = new Canvas();
    private long paints;

    protected ChartCanvas() {
        getStyleClass().add("chart-canvas");
        getChildren().add(canvas);
        for (StyleableProperty<Color> p : List.of(foreground, muted, grid, accent, good, bad, negative, zero, positive,
                series1, series2, series3, series4)) {
            ((javafx.beans.value.ObservableValue<?>) p).addListener(o -> redraw());
        }
    }

    @Override
    protected void layoutChildren() {
        double w = snapSizeX(getWidth() - snappedLeftInset() - snappedRightInset());
        double h = snapSizeY(getHeight() - snappedTopInset() - snappedBottomInset());
        canvas.relocate(snappedLeftInset(), snappedTopInset());
        if (canvas.getWidth() != w || canvas.getHeight() != h) {
            canvas.setWidth(Math.max(0, w));
            canvas.setHeight(Math.max(0, h));
            redraw();
        }
    }

    /** Paints the chart again. */
    public final void redraw() {
        paints++;
        GraphicsContext g = canvas.getGraphicsContext2D();
        g.clearRect(0, 0, canvas.getWidth(), canvas.getHeight());
        if (canvas.getWidth() > 0 && canvas.getHeight() > 0) {
            g.setFont(Font.font(11));
            draw(g, canvas.getWidth(), canvas.getHeight());
        }
    }

    protected abstract void draw(GraphicsContext g, double width, double height);

    /** How many times it has painted: a chart that paints when nothing changed keeps the scene pulsing. */
    public long paints() {
        return paints;
    }

    protected Color foreground() {
        return foreground.getValue();
    }

    protected Color muted() {
        return muted.getValue();
    }

    protected Color grid() {
        return grid.getValue();
    }

    protected Color accent() {
        return accent.getValue();
    }

    protected Color good() {
        return good.getValue();
    }

    protected Color bad() {
        return bad.getValue();
    }

    /** The diverging scale of heat maps: negative, zero and positive ends. */
    protected Color diverging(double t) {
        double c = Math.max(-1, Math.min(1, t));
        return c < 0 ? zero.getValue().interpolate(negative.getValue(), -c)
                : zero.getValue().interpolate(positive.getValue(), c);
    }

    /** The colour of series {@code i} (0 to 3; others wrap around). */
    protected Color series(int i) {
        return switch (Math.floorMod(i, 4)) {
            case 0 -> series1.getValue();
            case 1 -> series2.getValue();
            case 2 -> series3.getValue();
            default -> series4.getValue();
        };
    }

    /** The canvas, for tests that read its pixels. */
    public Canvas canvas() {
        return canvas;
    }

    public static List<CssMetaData<? extends Styleable, ?>> getClassCssMetaData() {
        return CSS.getCssMetaData();
    }

    @Override
    public List<CssMetaData<? extends Styleable, ?>> getCssMetaData() {
        return getClassCssMetaData();
    }
}
