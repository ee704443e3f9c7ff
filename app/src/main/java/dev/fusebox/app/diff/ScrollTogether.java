package dev.fusebox.app.diff;

import javafx.event.Event;
import javafx.geometry.Orientation;
import javafx.scene.Node;
import javafx.scene.control.Control;
import javafx.scene.control.ScrollBar;
import javafx.scene.input.KeyEvent;
import javafx.scene.input.MouseEvent;
import javafx.scene.input.ScrollEvent;

/**
 * Scrolls two side-by-side trees as one when the user scrolls either: the other's vertical scroll position follows
 * as a fraction of its own length, so both show the same part of their models (A's and B's trees differ in rows
 * only where the layouts do, by a few per layer). A tree scrolled to reveal a linked selection is left where it
 * is, and so is the other: each reveals its own rows, until the user scrolls again.
 */
final class ScrollTogether {

    private boolean user = true;

    /** Links {@code one} and {@code other} once both are laid out with their scroll bars. */
    void link(Control one, Control other) {
        Runnable tryLink = new Runnable() {
            private boolean linked;

            @Override
            public void run() {
                ScrollBar a = vertical(one);
                ScrollBar b = vertical(other);
                if (linked || a == null || b == null) {
                    return;
                }
                linked = true;
                follow(a, b);
                follow(b, a);
            }
        };
        for (Control c : new Control[] {one, other}) {
            c.needsLayoutProperty().addListener((o, was, now) -> tryLink.run());
            c.addEventFilter(ScrollEvent.ANY, this::byUser);
            c.addEventFilter(MouseEvent.MOUSE_PRESSED, this::byUser);
            c.addEventFilter(KeyEvent.KEY_PRESSED, this::byUser);
        }
    }

    /** A tree is about to scroll to reveal rows chosen for it: neither follows the other until the user scrolls. */
    void hold() {
        user = false;
    }

    private void byUser(Event e) {
        user = true;
    }

    private void follow(ScrollBar leader, ScrollBar follower) {
        leader.valueProperty().addListener((o, was, now) -> {
            if (!user) {
                return;
            }
            double range = leader.getMax() - leader.getMin();
            double fraction = range <= 0 ? 0 : (now.doubleValue() - leader.getMin()) / range;
            double target = follower.getMin() + fraction * (follower.getMax() - follower.getMin());
            // Setting the follower's value tells the leader back; the guard stops the echo at one step.
            if (Math.abs(follower.getValue() - target) > 1e-9 * Math.max(1, follower.getMax())) {
                follower.setValue(target);
            }
        });
    }

    private static ScrollBar vertical(Control c) {
        for (Node n : c.lookupAll(".scroll-bar")) {
            if (n instanceof ScrollBar s && s.getOrientation() == Orientation.VERTICAL) {
                return s;
            }
        }
        return null;
    }
}
