package dev.fusebox.viewmodel.browse;

import dev.fusebox.converter.checkpoint.Layout;

/** The two panes of the model screen: the per-expert layout on the left, the fused one on the right. */
public enum Side {
    LEGACY(Layout.LEGACY),
    V5(Layout.V5);

    private final Layout layout;

    Side(Layout layout) {
        this.layout = layout;
    }

    public Layout layout() {
        return layout;
    }

    public Side other() {
        return this == LEGACY ? V5 : LEGACY;
    }

    /** The side that shows checkpoints of {@code layout}; legacy for unknown layouts. */
    public static Side of(Layout layout) {
        return layout == Layout.V5 ? V5 : LEGACY;
    }
}
