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
        char[] buffer = new char[128];
        for (String k : keys) {
            if (k.length() > buffer.length) {
                buffer = new char[k.length()];
            }
            out.putIfAbsent(shape(k, buffer), k);
        }
        return out;
    }

    /** The shape of one key. */
    static String shapeOf(String key) {
        return shape(key, new char[key.length()]);
    }

    /** The key with each all-digit segment written {@code 0}, made in {@code buffer} (as long as the key at least). */
    private static String shape(String key, char[] buffer) {
        int n = key.length();
        key.getChars(0, n, buffer, 0);
        int length = 0;
        int start = 0;
        while (start <= n) {
            int end = start;
            boolean digits = true;
            while (end < n && buffer[end] != '.') {
                digits &= Character.isDigit(buffer[end]);
                end++;
            }
            if (digits && end > start) {
                buffer[length++] = '0';
            } else {
                System.arraycopy(buffer, start, buffer, length, end - start);
                length += end - start;
            }
            if (end < n) {
                buffer[length++] = '.';
            }
            start = end + 1;
        }
        return new String(buffer, 0, length);
    }
}
