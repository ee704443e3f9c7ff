package dev.fusebox.viewmodel.diff;

/**
 * A line the diff screen draws between its trees: a row of A's tree and the row of B's it stands for.
 *
 * @param a a node of A's tree
 * @param b a node of B's tree that matches it
 */
public record DiffLink(DiffNode a, DiffNode b) {

    public DiffLink {
        if (!a.inA() || b.inA()) {
            throw new IllegalArgumentException("a link goes from A's tree to B's: " + a + " to " + b);
        }
    }
}
