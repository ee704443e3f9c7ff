package dev.fusebox.converter.convert;

/**
 * How the values of one tensor, or of a part of it, compare between A and B: the elements whose bytes differ and,
 * for float dtypes, the largest absolute difference and the sums that give the relative difference
 * ‖a − b‖ / ‖a‖ (over finite pairs; a NaN on one side only counts as an infinite difference).
 *
 * @param elements          elements compared
 * @param differingElements elements whose bytes differ
 * @param maxAbsDiff        the largest |a − b|, 0 when none differ; NaN for dtypes that are not floats
 * @param sumSquaredDiff    Σ (a − b)² over pairs where both are finite
 * @param sumSquaredA       Σ a² over A's finite elements
 */
public record Difference(long elements, long differingElements, double maxAbsDiff, double sumSquaredDiff,
                         double sumSquaredA) {

    /** Nothing compared yet, for a float dtype or not. */
    public static Difference none(boolean floats) {
        return new Difference(0, 0, floats ? 0 : Double.NaN, 0, 0);
    }

    public boolean identical() {
        return differingElements == 0;
    }

    /** ‖a − b‖ / ‖a‖: 0 when identical, infinite when A is all zeros and B is not, NaN where values are not floats. */
    public double relative() {
        if (Double.isNaN(maxAbsDiff)) {
            return Double.NaN;
        }
        if (Double.isInfinite(maxAbsDiff)) {
            return Double.POSITIVE_INFINITY;
        }
        if (sumSquaredDiff == 0) {
            return 0;
        }
        return sumSquaredA == 0 ? Double.POSITIVE_INFINITY : Math.sqrt(sumSquaredDiff / sumSquaredA);
    }

    /** The figures of this and {@code o} together, as if compared as one. */
    public Difference plus(Difference o) {
        double max = Double.isNaN(maxAbsDiff) || Double.isNaN(o.maxAbsDiff) ? Double.NaN
                : Math.max(maxAbsDiff, o.maxAbsDiff);
        return new Difference(elements + o.elements, differingElements + o.differingElements, max,
                sumSquaredDiff + o.sumSquaredDiff, sumSquaredA + o.sumSquaredA);
    }
}
