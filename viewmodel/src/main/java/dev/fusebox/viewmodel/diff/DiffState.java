package dev.fusebox.viewmodel.diff;

/**
 * What a row of the diff trees shows about its tensor, or about the tensors below a module: in order of how much
 * it asks to be looked at, so a module takes the first state any tensor below it has.
 */
public enum DiffState {
    ONLY_IN_A("only in A", "only-in-a"),
    ONLY_IN_B("only in B", "only-in-b"),
    CHANGED("shape or dtype changed", "changed"),
    VALUES("values differ", "values-differ"),
    SAME("same", "same");

    private final String label;
    private final String styleName;

    DiffState(String label, String styleName) {
        this.label = label;
        this.styleName = styleName;
    }

    public String label() {
        return label;
    }

    /** The pseudo-class the diff trees give a row in this state. */
    public String styleName() {
        return styleName;
    }

    /** The state of a module holding rows in {@code this} and {@code other}. */
    DiffState and(DiffState other) {
        return other.compareTo(this) < 0 ? other : this;
    }
}
