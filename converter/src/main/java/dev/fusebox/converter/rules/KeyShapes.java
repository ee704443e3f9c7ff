package dev.fusebox.converter.rules;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Keys with every all-digit segment (a layer or expert index) read as {@code 0}, each with the first real key of
 * that shape. A checkpoint of 100 000 tensors has a few dozen shapes, and rules never depend on which index a key
 * has, so asking the rules about the shapes answers for every key at a fraction of the cost.
 */
final class KeyShapes {

    private KeyShapes() {
    }

    /** Shape → the first key of that shape, in the keys' order. */
    static Map<String, String> of(Collection<String> keys) {
        Map<String, String> out = new LinkedHashMap<>();
        StringBuilder b = new StringBuilder();
        for (String k : keys) {
            out.putIfAbsent(shape(k, b), k);
        }
        return out;
    }

    private static String shape(String key, StringBuilder b) {
        b.setLength(0);
        int n = key.length();
        int start = 0;
        while (start <= n) {
            int end = key.indexOf('.', start);
            if (end < 0) {
                end = n;
            }
            boolean digits = end > start;
            for (int i = start; i < end && digits; i++) {
                digits = Character.isDigit(key.charAt(i));
            }
            if (digits) {
                b.append('0');
            } else {
                b.append(key, start, end);
            }
            if (end < n) {
                b.append('.');
            }
            start = end + 1;
        }
        return b.toString();
    }
}
