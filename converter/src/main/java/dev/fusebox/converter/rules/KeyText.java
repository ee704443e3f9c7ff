package dev.fusebox.converter.rules;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Keys written one after another in one text, so that the keys holding a piece of literal text are found by one
 * scan of it ({@link String#indexOf}, which the JVM runs as vector code) instead of one search per key. Guessing a
 * family asks each rule about the keys that hold its {@link RequiredText}: a header of 262 144 distinct keys costs a
 * scan per rule, not a regular expression per rule and key.
 */
final class KeyText {

    private final List<String> keys;
    private final String text;
    private final int[] starts;
    private final Map<String, List<String>> holders = new HashMap<>();

    KeyText(Collection<String> keys) {
        this.keys = List.copyOf(keys);
        this.starts = new int[this.keys.size()];
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < starts.length; i++) {
            starts[i] = s.length();
            s.append(this.keys.get(i)).append('\n');
        }
        this.text = s.toString();
    }

    List<String> all() {
        return keys;
    }

    /** The keys that hold {@code needle}, in order; every key when the needle is empty. */
    List<String> holding(String needle) {
        if (needle.isEmpty()) {
            return keys;
        }
        return holders.computeIfAbsent(needle, this::find);
    }

    private List<String> find(String needle) {
        List<String> out = new ArrayList<>();
        int from = 0;
        while (true) {
            int at = text.indexOf(needle, from);
            if (at < 0) {
                return out;
            }
            int k = Arrays.binarySearch(starts, at);
            k = k >= 0 ? k : -k - 2;
            // An occurrence that runs past its key's end (the needle holds the separator) is checked like the others.
            out.add(keys.get(k));
            if (k + 1 >= starts.length) {
                return out;
            }
            from = starts[k + 1];
        }
    }
}
