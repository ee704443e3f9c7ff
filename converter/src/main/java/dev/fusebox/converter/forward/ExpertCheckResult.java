package dev.fusebox.converter.forward;

import java.util.List;
import java.util.Optional;

/**
 * What the expert-level check found: for every expert of every MoE layer checked, how far its output on seeded
 * sample states differs between the source's weights and the conversion's, and the same for every router.
 *
 * @param activation the expert activation applied on both sides (config.json's)
 * @param samples    seeded sample states per expert
 * @param realStates states from the source's forward pass (its first and last position) per expert, after the
 *                   seeded ones; 0 without a forward pass
 * @param weightBytes bytes of expert and router weights the check read, both sides
 * @param tolerance  the largest difference that passes, relative to the largest output on the source side
 * @param failures   one sentence each, naming the layer, expert and tensor; empty when every expert and router agreed
 * @param nanos      how long the check took, both sides
 * @param skipped    why the check did not run, when it did not (an adapter merged into the conversion changes the
 *                   experts' weights; the forward pass compares them)
 */
public record ExpertCheckResult(Activation activation, int samples, int realStates, long weightBytes,
                                double tolerance, List<ExpertComparison> experts,
                                List<RouterComparison> routers, List<String> failures, long nanos,
                                Optional<String> skipped) {

    public ExpertCheckResult {
        experts = List.copyOf(experts);
        routers = List.copyOf(routers);
        failures = List.copyOf(failures);
    }

    /** A check that did not run, and why. */
    public static ExpertCheckResult skipped(String why) {
        return new ExpertCheckResult(Activation.SILU, 0, 0, 0, ExpertCheck.TOLERANCE, List.of(), List.of(), List.of(), 0,
                Optional.of(why));
    }

    public boolean passed() {
        return failures.isEmpty();
    }

    /** The layers it checked, ascending. */
    public List<Integer> layers() {
        return experts.stream().map(ExpertComparison::layer).distinct().sorted().toList();
    }

    /** The largest difference of any expert's or router's output. */
    public double maxAbsDiff() {
        double max = 0;
        for (ExpertComparison e : experts) {
            max = Math.max(max, e.maxAbsDiff());
        }
        for (RouterComparison r : routers) {
            max = Math.max(max, r.maxAbsDiff());
        }
        return max;
    }

    /**
     * One expert: where it is on each side, what was computed ({@code "gated silu"}, {@code "ungated relu2"}, or
     * {@code "gate and up"} for a block that stores no down projection) and the largest difference of any output.
     */
    public record ExpertComparison(int layer, int expert, String sourceBlock, String sourceStorage,
                                   String convertedBlock, int convertedExpert, String convertedStorage,
                                   String function, double maxAbsDiff, double allowed, boolean passed) {
    }

    /** One router, compared after its renaming (and the transpose its rules give). */
    public record RouterComparison(int layer, String sourceKey, String convertedKey, double maxAbsDiff,
                                   double allowed, boolean passed) {
    }
}
