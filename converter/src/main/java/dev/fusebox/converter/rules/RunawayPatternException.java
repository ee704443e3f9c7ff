package dev.fusebox.converter.rules;

/**
 * A renaming's regular expression gave up on a key (see {@link BoundedKey}): the rule file needs fixing, not the
 * checkpoint, and the message says which pattern and key.
 */
public final class RunawayPatternException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    RunawayPatternException(String message) {
        super(message);
    }
}
