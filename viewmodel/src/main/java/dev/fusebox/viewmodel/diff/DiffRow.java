package dev.fusebox.viewmodel.diff;

/**
 * One difference between checkpoints A and B, seen in A's layout.
 *
 * @param a what A has ("[4, 192, 64] F32"), or "" when A has no such tensor; for values that differ, A's value
 *          where they differ most ("0.0123 at [1, 7, 3]")
 * @param b what B has, or "" when B has none; for a tensor B only has after mapping, where it comes from
 * @param note for values that differ, how many elements and by how much at most; else empty
 */
public record DiffRow(Kind kind, String key, String a, String b, String note) {

    public DiffRow(Kind kind, String key, String a, String b) {
        this(kind, key, a, b, "");
    }

    public enum Kind {
        ONLY_IN_A("only in A"),
        ONLY_IN_B("only in B"),
        CHANGED("shape or dtype"),
        VALUES("values differ");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }
}
