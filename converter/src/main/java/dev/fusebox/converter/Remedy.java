package dev.fusebox.converter;

/**
 * What a user can give to answer a problem, named apart from the sentence: each face of Fusebox says it in its own
 * terms (the CLI as its option), so the engine's sentences name no flag.
 */
public enum Remedy {
    /** A conversion rule file of the user's own, for a family the bundled rules do not know. */
    RULE_FILE,
    /** The layout to convert to, for an input whose own layout its contents cannot tell. */
    TARGET_LAYOUT
}
