package dev.fusebox.converter.forward;

import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * PEFT's lookup of {@code rank_pattern} and {@code alpha_pattern} ({@code peft.utils.other.get_pattern_key}): the
 * first pattern, in the config's order, that matches the whole name or a tail of it that starts after a dot.
 */
final class PeftPatterns {

    private PeftPatterns() {
    }

    /** The value of the first pattern matching {@code name}, if any. */
    static <T> Optional<T> lookup(Map<String, T> patterns, String name) {
        for (Map.Entry<String, T> e : patterns.entrySet()) {
            if (matches(e.getKey(), name)) {
                return Optional.of(e.getValue());
            }
        }
        return Optional.empty();
    }

    static boolean matches(String pattern, String name) {
        try {
            return Pattern.compile("(.*\\.)?(" + pattern + ")").matcher(name).matches();
        } catch (PatternSyntaxException e) {
            return pattern.equals(name);
        }
    }
}
