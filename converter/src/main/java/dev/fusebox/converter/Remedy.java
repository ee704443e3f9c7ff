package dev.fusebox.converter;

/**
 * The choice a user can make to answer a problem, or the one a problem is about, named apart from the sentence:
 * each face of Fusebox says it in its own terms (the CLI as its option, the app by its control), so the engine's
 * sentences name no flag.
 */
public enum Remedy {
    /** A conversion rule file of the user's own, for a family the bundled rules do not know. */
    RULE_FILE,
    /** The layout to convert to, for an input whose own layout its contents cannot tell. */
    TARGET_LAYOUT,
    /** The base model an adapter applies to. */
    BASE_MODEL,
    /** The dtype an adapter's converted factors are written in. */
    FACTOR_DTYPE,
    /** Dequantizing a fine-grained FP8 model's weights to dense ones while converting it. */
    DEQUANTIZE,
    /** Merging an adapter into its base model instead of converting it beside it. */
    MERGE_ADAPTER,
    /** Replacing an earlier output of Fusebox's own. */
    REPLACE_OUTPUT,
    /** The tokens a check runs. */
    TOKENS,
    /** How many layers a check runs. */
    LAYERS
}
