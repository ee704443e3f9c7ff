package dev.fusebox.converter.text;

import java.util.Locale;

/** Byte counts and big numbers as people read them. */
public final class Sizes {

    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};

    private Sizes() {
    }

    /** {@code 1536} → {@code 1.5 KiB}. */
    public static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        double v = n;
        int unit = 0;
        while (v >= 1024 && unit < UNITS.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, UNITS[unit]);
    }

    /** {@code 1234567} → {@code 1,234,567}. */
    public static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /**
     * Parses a size as transformers writes it ({@code 5GB}, {@code 500MB}, {@code 2GiB}, or plain bytes);
     * GB/MB/KB are powers of ten, GiB/MiB/KiB powers of two.
     */
    public static long parse(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        long multiplier = 1;
        String[][] units = {{"TIB", "1099511627776"}, {"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"},
                {"TB", "1000000000000"}, {"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}};
        for (String[] u : units) {
            if (t.endsWith(u[0])) {
                multiplier = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        double value;
        try {
            value = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a size such as 5GB, 500MB or 1048576");
        }
        if (!(value > 0) || value * multiplier > Long.MAX_VALUE) {
            throw new IllegalArgumentException("'" + text + "' is not a positive size");
        }
        return (long) (value * multiplier);
    }
}
