package dev.fusebox.converter.rules;

import java.util.Optional;

/**
 * The longest run of literal text that every match of a regular expression contains, read conservatively: only
 * text outside groups and character classes counts (quoted {@code \Q…\E} text too), a character under {@code ?},
 * {@code *} or <code>{</code> does not, and a pattern with a top-level alternation, inline flags, or an escape that
 * spans more than one character (a code point, a property, a back reference) has none. A key that lacks the run
 * cannot match, so guessing a family asks the rules only about keys that hold it ({@link KeyText}).
 */
final class RequiredText {

    /** Escapes that stand for one character of a class, or for a place between characters. */
    private static final String SINGLE_CLASS = "wWdDsSbBhHvVRXAzZG";

    private RequiredText() {
    }

    static Optional<String> of(String regex) {
        String best = "";
        StringBuilder run = new StringBuilder();
        int depth = 0;
        int i = 0;
        int n = regex.length();
        while (i < n) {
            char c = regex.charAt(i);
            if (c == '\\') {
                if (i + 1 >= n) {
                    return Optional.empty();
                }
                char e = regex.charAt(i + 1);
                if (e == 'Q') {
                    int end = regex.indexOf("\\E", i + 2);
                    int stop = end < 0 ? n : end;
                    if (depth == 0) {
                        run.append(regex, i + 2, stop);
                        char q = stop + 2 < n ? regex.charAt(stop + 2) : 0;
                        if ((q == '?' || q == '*' || q == '{') && !run.isEmpty()) {
                            run.setLength(run.length() - 1);
                        }
                    }
                    i = end < 0 ? n : end + 2;
                    continue;
                }
                boolean wordEscape = Character.isLetterOrDigit(e);
                if (depth == 0 && wordEscape && SINGLE_CLASS.indexOf(e) < 0) {
                    return Optional.empty();
                }
                if (depth == 0) {
                    best = wordEscape ? longer(best, run) : literal(regex, i + 2, run, e, best);
                }
                i += 2;
            } else if (c == '[') {
                i = afterClass(regex, i);
                if (i < 0) {
                    return Optional.empty();
                }
                best = longer(best, run);
            } else if (c == '(') {
                if (i + 2 < n && regex.charAt(i + 1) == '?' && ":<=!>".indexOf(regex.charAt(i + 2)) < 0) {
                    return Optional.empty();
                }
                depth++;
                best = longer(best, run);
                i++;
            } else if (c == ')') {
                depth--;
                best = longer(best, run);
                i++;
            } else if (c == '|') {
                if (depth == 0) {
                    return Optional.empty();
                }
                i++;
            } else if (c == '{') {
                i = regex.indexOf('}', i);
                if (i < 0) {
                    return Optional.empty();
                }
                best = longer(best, run);
                i++;
            } else if (".^$*+?}".indexOf(c) >= 0) {
                best = longer(best, run);
                i++;
            } else {
                if (depth == 0) {
                    best = literal(regex, i + 1, run, c, best);
                }
                i++;
            }
        }
        best = longer(best, run);
        return best.isEmpty() ? Optional.empty() : Optional.of(best);
    }

    /** Adds {@code c} to the run unless the quantifier at {@code next} makes it optional; returns the best run. */
    private static String literal(String regex, int next, StringBuilder run, char c, String best) {
        char q = next < regex.length() ? regex.charAt(next) : 0;
        if (q == '?' || q == '*' || q == '{') {
            return longer(best, run);
        }
        run.append(c);
        return q == '+' ? longer(best, run) : best;
    }

    /** The longer of {@code best} and the run, which is emptied. */
    private static String longer(String best, StringBuilder run) {
        String r = run.toString();
        run.setLength(0);
        return r.length() > best.length() ? r : best;
    }

    /** The index after the character class that opens at {@code open}, or -1 when it does not close. */
    private static int afterClass(String regex, int open) {
        int i = open + 1;
        if (i < regex.length() && regex.charAt(i) == '^') {
            i++;
        }
        if (i < regex.length() && regex.charAt(i) == ']') {
            i++;
        }
        while (i < regex.length()) {
            char c = regex.charAt(i);
            if (c == '\\') {
                i += 2;
            } else if (c == '[') {
                return -1;
            } else if (c == ']') {
                return i + 1;
            } else {
                i++;
            }
        }
        return -1;
    }
}
