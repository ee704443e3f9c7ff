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
        };
    }
}
