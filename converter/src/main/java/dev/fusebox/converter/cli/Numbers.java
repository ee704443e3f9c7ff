package dev.fusebox.converter.cli;

/** Numbers in text output. */
final class Numbers {

    private Numbers() {
    }

    /** {@code 8.0} → {@code 8}; other values as Java prints them. */
    static String plain(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
