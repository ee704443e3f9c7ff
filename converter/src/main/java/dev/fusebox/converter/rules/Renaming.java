package dev.fusebox.converter.rules;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A key renaming: the first match of a regular expression is replaced (as transformers' {@code WeightRenaming}
 * does, searching anywhere in the key). Its inverse is given explicitly, or derived when the pattern is literal
 * text (dots escaped or not, optionally anchored with {@code ^}/{@code $}) and the replacement has no group
 * references — transformers' own rule for reversing. A renaming that drops information (a prefix) can be marked
 * one way: converting back then leaves the shorter name.
 */
public record Renaming(Pattern from, String to, Optional<Renaming> inverse) {

    /** A renaming and its inverse, which is {@code reverse} when given, else derived from the pattern. */
    public static Renaming of(String from, String to, Optional<Renaming> reverse, boolean oneWay) {
        Pattern pattern = Pattern.compile(from);
        if (oneWay) {
            return new Renaming(pattern, to, Optional.empty());
        }
        Renaming inverse = reverse.orElseGet(() -> derivedInverse(from, to).orElseThrow(() ->
                new IllegalArgumentException("the renaming '" + from + "' → '" + to + "' is not literal text, so its "
                        + "inverse cannot be derived; give \"reverse\" or mark it \"one_way\"")));
        return new Renaming(pattern, to, Optional.of(inverse));
    }

    /** A renaming with no inverse of its own (used as the inverse of another). */
    public static Renaming plain(String from, String to) {
        return new Renaming(Pattern.compile(from), to, Optional.empty());
    }

    /**
     * {@code key} with the first match replaced ({@code $1} in the replacement names a group), or {@code key}.
     *
     * @throws RunawayPatternException when the pattern backtracks without end on {@code key} ({@link BoundedKey}),
     *         or recurses deeper than the stack allows (an alternation repeated over a long key)
     */
    public String apply(String key) {
        try {
            return from.matcher(new BoundedKey(key, "the renaming " + this)).replaceFirst(to);
        } catch (StackOverflowError e) {
            throw BoundedKey.outOfStack("the renaming " + this, key);
        }
    }

    /** Whether the pattern occurs in {@code key}; throws as {@link #apply} does. */
    public boolean matches(String key) {
        try {
            return from.matcher(new BoundedKey(key, "the renaming " + this)).find();
        } catch (StackOverflowError e) {
            throw BoundedKey.outOfStack("the renaming " + this, key);
        }
    }

    /** Literal text that every key this renaming matches holds, when the pattern has some ({@link RequiredText}). */
    Optional<String> requiredText() {
        return RequiredText.of(from.pattern());
    }

    /** This renaming run the other way, or empty when it is one way. */
    public Optional<Renaming> reversed() {
        return inverse.map(inv -> new Renaming(inv.from, inv.to, Optional.of(this)));
    }

    private static Optional<Renaming> derivedInverse(String from, String to) {
        if (to.indexOf('$') >= 0 || to.indexOf('\\') >= 0) {
            return Optional.empty();
        }
        boolean start = from.startsWith("^");
        boolean end = from.endsWith("$") && !from.endsWith("\\$");
        String body = from.substring(start ? 1 : 0, from.length() - (end ? 1 : 0));
        StringBuilder literal = new StringBuilder();
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c == '\\') {
                if (i + 1 >= body.length() || Character.isLetterOrDigit(body.charAt(i + 1))) {
                    return Optional.empty();
                }
                literal.append(body.charAt(++i));
            } else if ("[](){}*+?|^$".indexOf(c) >= 0) {
                return Optional.empty();
            } else {
                literal.append(c);
            }
        }
        String pattern = (start ? "^" : "") + Pattern.quote(to) + (end ? "$" : "");
        return Optional.of(plain(pattern, Matcher.quoteReplacement(literal.toString())));
    }

    @Override
    public String toString() {
        return "'" + from.pattern() + "' → '" + to + "'";
    }
}
