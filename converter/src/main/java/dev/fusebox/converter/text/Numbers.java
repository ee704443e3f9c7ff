package dev.fusebox.converter.text;

/** Numbers in text output. */
public final class Numbers {

    private Numbers() {
    }

    /** {@code 8.0} → {@code 8}; other values as Java prints them. */
    public static String plain(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
