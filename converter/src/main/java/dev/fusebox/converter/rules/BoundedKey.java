package dev.fusebox.converter.rules;

/**
 * A key as a renaming's regular expression reads it, counting the characters read: a user's pattern that
 * backtracks catastrophically gives up with a message instead of hanging the planner. (java.util.regex remembers
 * where a greedy repetition already failed, so {@code (a+)+b} runs in linear time; a lazy one such as
 * {@code (\w+\.?)*?x} still takes exponential time on a key that almost matches.) The budget is linear in the
 * key's length with a generous constant, far above what any pattern that runs in linear time reads, so only the
 * pathological ones meet it.
 */
final class BoundedKey implements CharSequence {

    private static final long BASE_BUDGET = 1_000_000;
    private static final long BUDGET_PER_CHAR = 1_000;
    private static final int SHOWN = 200;

    private final String key;
    private final Renaming renaming;
    private long left;

    BoundedKey(String key, Renaming renaming) {
        this.key = key;
        this.renaming = renaming;
        this.left = BASE_BUDGET + BUDGET_PER_CHAR * key.length();
    }

    @Override
    public char charAt(int index) {
        if (--left < 0) {
            throw new RunawayPatternException("the renaming " + renaming + " gave up on the key '" + shown(key)
                    + "': its pattern backtracks without end (nested repetition such as (\\w+\\.?)*?); rewrite it "
                    + "without nesting repetitions");
        }
        return key.charAt(index);
    }

    static RunawayPatternException outOfStack(Renaming renaming, String key) {
        return new RunawayPatternException("the renaming " + renaming + " ran out of stack on the key '" + shown(key)
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
