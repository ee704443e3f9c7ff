package dev.fusebox.viewmodel.mapping;

/**
 * Where the shape diagram puts the panels of a rank-3 target ([E, A, B]: one panel per index of the first axis)
 * across a width: side by side with gaps, to scale, while each can be {@link #LEAST_PANEL} wide; past that, every
 * panel as a thin band filling the width (a 256-expert tensor's every expert shows, none summarised away). Labels
 * go under every {@link #labelEvery()}-th panel, a power of two so that they never overlap.
 *
 * @param panels     how many panels, all drawn
 * @param step       from one panel's left edge to the next's
 * @param width      a panel's width
 * @param bands      whether the panels are bands (not to scale) rather than panels to scale
 * @param labelEvery label panels 0, labelEvery, 2·labelEvery, ...
 */
public record PanelStrip(int panels, double step, double width, boolean bands, int labelEvery) {

    /** The narrowest panel drawn to scale with a gap. */
    public static final double LEAST_PANEL = 24;
    /** The gap between panels drawn to scale. */
    public static final double GAP = 10;

    /**
     * How {@code panels} panels fit into the width available.
     *
     * @param panels     the length of the first axis
     * @param natural    the width of one panel to scale, at the height available
     * @param available  the width to fill
     * @param labelWidth the width of the widest label ("[255]") with room around it
     */
    public static PanelStrip fit(int panels, double natural, double available, double labelWidth) {
        if (panels <= 0) {
            return new PanelStrip(0, 0, 0, false, 1);
        }
        double squeezed = (available - GAP * (panels - 1)) / panels;
        if (squeezed >= LEAST_PANEL || panels == 1) {
            double width = Math.max(1, Math.min(natural, squeezed));
            return new PanelStrip(panels, width + GAP, width, false, every(width + GAP, labelWidth));
        }
        double step = available / panels;
        double gap = step >= 4 ? 1 : 0;
        return new PanelStrip(panels, step, step - gap, true, every(step, labelWidth));
    }

    private static int every(double step, double labelWidth) {
        int n = 1;
        while (n * step < labelWidth && n < Integer.MAX_VALUE / 2) {
            n *= 2;
        }
        return n;
    }

    /** Whether panel {@code index} gets its label. */
    public boolean labelled(int index) {
        return index % labelEvery == 0;
    }
}
