package dev.fusebox.converter.rules;

/**
 * A key as a regular expression from a file (a rule file's renaming, an adapter's {@code rank_pattern}) reads it,
 * counting the characters read: a pattern that backtracks catastrophically gives up with a message instead of
 * hanging the planner. (java.util.regex remembers
 * where a greedy repetition already failed, so {@code (a+)+b} runs in linear time; a lazy one such as
 * {@code (\w+\.?)*?x} still takes exponential time on a key that almost matches.) The budget is linear in the
 * key's length with a generous constant, far above what any pattern that runs in linear time reads, so only the
 * pathological ones meet it.
 */
public final class BoundedKey implements CharSequence {

    private static final long BASE_BUDGET = 1_000_000;
    private static final long BUDGET_PER_CHAR = 1_000;
    private static final int SHOWN = 200;

    private final String key;
    private final String pattern;
    private long left;

    /** {@code key} as {@code pattern} (named as messages should say it: "the renaming 'a' → 'b'") reads it. */
    public BoundedKey(String key, String pattern) {
        this.key = key;
        this.pattern = pattern;
        this.left = BASE_BUDGET + BUDGET_PER_CHAR * key.length();
    }

    @Override
    public char charAt(int index) {
        if (--left < 0) {
            throw new RunawayPatternException(pattern + " gave up on the key '" + shown(key)
                    + "': its pattern backtracks without end (nested repetition such as (\\w+\\.?)*?); rewrite it "
                    + "without nesting repetitions");
        }
        return key.charAt(index);
    }

    /** What to say when {@code pattern} recursed deeper than the stack allows on {@code key}. */
    public static RunawayPatternException outOfStack(String pattern, String key) {
        return new RunawayPatternException(pattern + " ran out of stack on the key '" + shown(key)
                + "' (" + key.length() + " characters): repeat a character class, not an alternation ((a|b)* "
                + "recurses once per character)");
    }

    private static String shown(String key) {
        return key.length() <= SHOWN ? key : key.substring(0, SHOWN) + "…";
    }

    @Override
    public int length() {
        return key.length();
    }

    @Override
    public CharSequence subSequence(int start, int end) {
        return key.substring(start, end);
    }

    @Override
    public String toString() {
        return key;
    }
}
