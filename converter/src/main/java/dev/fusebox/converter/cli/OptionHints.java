package dev.fusebox.converter.cli;

import dev.fusebox.converter.Remedy;

/** A remedy as the command line gives it: the option, added to the engine's sentence, which names no flag. */
final class OptionHints {

    private OptionHints() {
    }

    static String of(Remedy remedy) {
        return switch (remedy) {
            case RULE_FILE -> " (or name one with --rules FILE)";
            case TARGET_LAYOUT -> " (with --to v5 or --to legacy)";
            case BASE_MODEL -> " (--base DIR)";
            case FACTOR_DTYPE -> " (--dtype)";
            case DEQUANTIZE -> " (--dequantize)";
            case MERGE_ADAPTER -> " (--merge-adapter)";
            case REPLACE_OUTPUT -> " (--force replaces it)";
            case TOKENS -> " (--tokens)";
            case LAYERS -> " (--layers N)";
        };
    }
}
