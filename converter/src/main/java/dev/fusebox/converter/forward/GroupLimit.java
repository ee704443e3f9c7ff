package dev.fusebox.converter.forward;

import java.util.Arrays;

/** The group-limited routers' common step: which expert groups stay in the running for the top-k. */
final class GroupLimit {

    private GroupLimit() {
    }

    /**
     * Marks in {@code kept} the {@code count} groups of highest {@code groupScore}, the lower index first on a tie
     * (as torch.topk picks), and clears the others.
     */
    static void keepBest(double[] groupScore, int count, boolean[] kept) {
        Arrays.fill(kept, false);
        for (int j = 0; j < count; j++) {
            int best = -1;
            for (int g = 0; g < groupScore.length; g++) {
                if (!kept[g] && (best < 0 || groupScore[g] > groupScore[best])) {
                    best = g;
                }
            }
            kept[best] = true;
        }
    }
}
