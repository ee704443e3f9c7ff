package dev.fusebox.viewmodel.diff;

import dev.fusebox.converter.text.Sizes;
import dev.fusebox.converter.convert.Difference;

import java.util.Locale;

/** How the diff screen writes its figures. */
public final class Figures {

    private Figures() {
    }

    /** ‖a − b‖ / ‖a‖ in three digits: "0" when identical, "∞" when A is zero and B not, "—" for other dtypes. */
    public static String relative(Difference d) {
        double r = d.relative();
        if (Double.isNaN(r)) {
            return d.identical() ? "0" : "—";
        }
        if (Double.isInfinite(r)) {
            return "∞";
        }
        return r == 0 ? "0" : String.format(Locale.ROOT, "%.3g", r);
    }

    /** The largest |a − b|, as {@link #relative} writes. */
    public static String maxAbs(Difference d) {
        double m = d.maxAbsDiff();
        if (Double.isNaN(m)) {
            return d.identical() ? "0" : "—";
        }
        return Double.isInfinite(m) ? "∞" : m == 0 ? "0" : String.format(Locale.ROOT, "%.3g", m);
    }

    /**
     * Where {@code d} falls on the heat scale (log): 0 identical, 1 a relative difference below 1e-6, then one level
     * per decade up to 5 for [1e-3, 1e-2), and 6 for 1e-2 and more (and for other dtypes that differ).
     */
    public static int heat(Difference d) {
        if (d.identical()) {
            return 0;
        }
        double r = d.relative();
        if (Double.isNaN(r) || r >= 1e-2) {
            return HEAT_LEVELS - 1;
        }
        int decade = (int) Math.floor(Math.log10(Math.max(r, 1e-300)));
        return Math.clamp(decade + 8, 1, HEAT_LEVELS - 1);
    }

    /** How many levels {@link #heat} has. */
    public static final int HEAT_LEVELS = 7;

    static String count(long n) {
        return Sizes.count(n);
    }
}
