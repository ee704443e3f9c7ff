package dev.fusebox.converter.lora;

import java.util.List;

/**
 * What an adapter conversion does to the LoRA behind one target tensor: the modules it comes from, their ranks and
 * alphas before, and the rank and alpha the target's wrapper has after. The scale ({@code alpha / r}, or
 * {@code alpha / sqrt(r)} with rsLoRA) is what a conversion keeps.
 *
 * @param modules    the modules whose factors the target holds, in the source layout
 * @param rankBefore each source module's rank (one per distinct value, in order)
 * @param alphaBefore each source module's alpha (likewise)
 * @param rankAfter  the rank of the target's wrapper
 * @param alphaAfter the alpha of the target's wrapper
 * @param scale      the scale kept
 */
public record TargetLora(List<String> modules, List<Integer> rankBefore, List<Double> alphaBefore, int rankAfter,
                         double alphaAfter, double scale) {

    public TargetLora {
        modules = List.copyOf(modules);
        rankBefore = List.copyOf(rankBefore);
        alphaBefore = List.copyOf(alphaBefore);
    }

    /** "rank 4 → 8, alpha 8 → 11.3137 (scale 4)". */
    public String summary() {
        return "rank " + join(rankBefore.stream().map(String::valueOf).toList()) + " → " + rankAfter + ", alpha "
                + join(alphaBefore.stream().map(TargetLora::number).toList()) + " → " + number(alphaAfter)
                + " (scale " + number(scale) + ")";
    }

    private static String join(List<String> values) {
        return values.size() == 1 ? values.getFirst() : String.join("/", values);
    }

    /** A number as short as it reads well: integers without a fraction, others to 6 significant digits. */
    static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(java.util.Locale.ROOT, "%.6g", v).replaceFirst("\\.?0+$", "");
    }
}
