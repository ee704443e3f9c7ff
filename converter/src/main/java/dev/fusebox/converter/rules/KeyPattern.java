package dev.fusebox.converter.rules;

import java.util.Optional;

/**
 * A converter's key pattern: literal text with at most one {@code *}, which stands for an expert index (decimal
 * digits, no leading zero). It matches part of a key that starts at the key's start or after a dot and ends at the
 * key's end or before a dot, so {@code mlp.experts.*.gate_proj.weight} finds
 * {@code model.layers.0.mlp.experts.3.gate_proj.weight} but not {@code …gate_proj.weight_scale}.
 */
public record KeyPattern(String text) {

    public KeyPattern {
        if (text.isEmpty()) {
            throw new IllegalArgumentException("a key pattern is empty");
        }
        int star = text.indexOf('*');
        if (star >= 0 && text.indexOf('*', star + 1) >= 0) {
            throw new IllegalArgumentException("the key pattern '" + text + "' has more than one '*'");
        }
    }

    /** Where a pattern matched: the key's text before and after the match, and the expert index (-1 when none). */
    public record Match(String prefix, String suffix, int index) {
    }

    /** Whether the pattern has a {@code *} for the expert index. */
    public boolean indexed() {
        return text.indexOf('*') >= 0;
    }

    /** The leftmost match in {@code key}. */
    public Optional<Match> find(String key) {
        int star = text.indexOf('*');
        String head = star < 0 ? text : text.substring(0, star);
        String tail = star < 0 ? "" : text.substring(star + 1);
        boolean openStart = text.startsWith(".");
        boolean openEnd = text.endsWith(".");
        for (int s = key.indexOf(head); s >= 0; s = key.indexOf(head, s + 1)) {
            if (!openStart && s > 0 && key.charAt(s - 1) != '.') {
                continue;
            }
            int p = s + head.length();
            int index = -1;
            if (star >= 0) {
                int digits = p;
                while (digits < key.length() && Character.isDigit(key.charAt(digits)) && digits - p < 9) {
                    digits++;
                }
                boolean leadingZero = digits - p > 1 && key.charAt(p) == '0';
                if (digits == p || leadingZero || (digits < key.length() && Character.isDigit(key.charAt(digits)))) {
                    continue;
                }
                index = Integer.parseInt(key.substring(p, digits));
                p = digits;
            }
            if (!key.startsWith(tail, p)) {
                continue;
            }
            int e = p + tail.length();
            if (!openEnd && e < key.length() && key.charAt(e) != '.') {
                continue;
            }
            return Optional.of(new Match(key.substring(0, s), key.substring(e), index));
        }
        return Optional.empty();
    }

    /** The key this pattern names between {@code prefix} and {@code suffix}, with {@code index} for the {@code *}. */
    public String expand(String prefix, String suffix, int index) {
        String middle = indexed() ? text.replace("*", Integer.toString(index)) : text;
        return prefix + middle + suffix;
    }

    @Override
    public String toString() {
        return text;
    }
}
