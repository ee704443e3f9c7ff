package dev.fusebox.converter.rules;

import java.util.Optional;

/**
 * A converter's key pattern: literal text with at most one {@code *}, which stands for an expert index (decimal
 * digits, no leading zero). It matches part of a key that starts at the key's start or after a dot and ends at the
 * key's end or before a dot, so {@code mlp.experts.*.gate_proj.weight} finds
 * {@code model.layers.0.mlp.experts.3.gate_proj.weight} but not {@code …gate_proj.weight_scale}.
 *
 * <p>A class rather than a record so that the text around the {@code *} is split once: planning a large checkpoint
 * asks every pattern about every key.
 */
public final class KeyPattern {

    private final String text;
    private final boolean indexed;
    private final String head;
    private final String tail;
    private final boolean openStart;
    private final boolean openEnd;

    public KeyPattern(String text) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException("a key pattern is empty");
        }
        int star = text.indexOf('*');
        if (star >= 0 && text.indexOf('*', star + 1) >= 0) {
            throw new IllegalArgumentException("the key pattern '" + text + "' has more than one '*'");
        }
        this.text = text;
        this.indexed = star >= 0;
        this.head = star < 0 ? text : text.substring(0, star);
        this.tail = star < 0 ? "" : text.substring(star + 1);
        this.openStart = text.startsWith(".");
        this.openEnd = text.endsWith(".");
    }

    /** Where a pattern matched: the key's text before and after the match, and the expert index (-1 when none). */
    public record Match(String prefix, String suffix, int index) {
    }

    /** The pattern as the rule file writes it. */
    public String text() {
        return text;
    }

    /** Whether the pattern has a {@code *} for the expert index. */
    public boolean indexed() {
        return indexed;
    }

    /** Literal text that every key this pattern matches holds: the longer side of the {@code *}. */
    String requiredText() {
        return head.length() >= tail.length() ? head : tail;
    }

    /** The leftmost match in {@code key}. */
    public Optional<Match> find(String key) {
        return Optional.ofNullable(match(key));
    }

    /** The leftmost match in {@code key}, or null. */
    Match match(String key) {
        return match(key, false);
    }

    /**
     * The leftmost place where {@code key} would match but for an expert index written with a leading zero
     * ({@code experts.01.}), or null: such a key is refused, not copied unfused beside its siblings.
     */
    Match paddedMatch(String key) {
        return indexed ? match(key, true) : null;
    }

    private Match match(String key, boolean padded) {
        int length = key.length();
        for (int s = key.indexOf(head); s >= 0; s = key.indexOf(head, s + 1)) {
            if (!openStart && s > 0 && key.charAt(s - 1) != '.') {
                continue;
            }
            int p = s + head.length();
            int index = -1;
            if (indexed) {
                int digits = p;
                int value = 0;
                while (digits < length && Character.isDigit(key.charAt(digits)) && digits - p < 9) {
                    value = value * 10 + Character.digit(key.charAt(digits), 10);
                    digits++;
                }
                boolean leadingZero = digits - p > 1 && key.charAt(p) == '0';
                if (digits == p || leadingZero != padded
                        || (digits < length && Character.isDigit(key.charAt(digits)))) {
                    continue;
                }
                index = value;
                p = digits;
            }
            if (!key.startsWith(tail, p)) {
                continue;
            }
            int e = p + tail.length();
            if (!openEnd && e < length && key.charAt(e) != '.') {
                continue;
            }
            return new Match(key.substring(0, s), key.substring(e), index);
        }
        return null;
    }

    /** The key this pattern names between {@code prefix} and {@code suffix}, with {@code index} for the {@code *}. */
    public String expand(String prefix, String suffix, int index) {
        String middle = indexed ? head + index + tail : text;
        return prefix + middle + suffix;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyPattern p && text.equals(p.text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }
}
