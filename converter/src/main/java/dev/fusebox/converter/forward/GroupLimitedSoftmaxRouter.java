package dev.fusebox.converter.forward;

import java.util.Arrays;
import java.util.Optional;

/**
 * DeepSeek-V2's router: a softmax over all experts in float32; with {@code groups} above 1 (topk_method
 * group_limited_greedy) the experts are split into that many equal groups, each ranked by its best probability, and
 * the probabilities outside the best {@code topKGroups} groups set to 0; then the top-k (greedy). The weights are
 * the chosen probabilities times {@code routedScalingFactor}, never renormalised (transformers 5.18 ignores
 * norm_topk_prob for it).
 */
public record GroupLimitedSoftmaxRouter(int experts, int topK, int groups, int topKGroups,
                                        double routedScalingFactor) implements Router {

    public GroupLimitedSoftmaxRouter {
        if (groups < 1 || experts % groups != 0 || topKGroups < 1 || topKGroups > groups || topK > experts) {
            throw new IllegalArgumentException(experts + " experts in " + groups + " groups, " + topKGroups
                    + " groups kept and " + topK + " experts chosen do not fit together");
        }
    }

    @Override
    public RouterOutput route(int layer, float[] logits, int tokens, Optional<float[]> correctionBias) {
        int e = experts;
        int k = topK;
        int perGroup = e / groups;
        int[] chosen = new int[tokens * k];
        float[] weights = new float[tokens * k];
        float[] probs = new float[e];
        double[] groupScore = new double[groups];
        boolean[] kept = new boolean[groups];
        boolean[] taken = new boolean[e];
        for (int t = 0; t < tokens; t++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < e; i++) {
                max = Math.max(max, logits[t * e + i]);
            }
            float sum = 0;
            for (int i = 0; i < e; i++) {
                probs[i] = (float) Math.exp(logits[t * e + i] - max);
                sum += probs[i];
            }
            for (int i = 0; i < e; i++) {
                probs[i] /= sum;
            }
            if (groups > 1) {
                for (int g = 0; g < groups; g++) {
                    groupScore[g] = Double.NEGATIVE_INFINITY;
                    for (int i = g * perGroup; i < (g + 1) * perGroup; i++) {
                        groupScore[g] = Math.max(groupScore[g], probs[i]);
                    }
                }
                GroupLimit.keepBest(groupScore, topKGroups, kept);
                for (int i = 0; i < e; i++) {
                    if (!kept[i / perGroup]) {
                        probs[i] = 0;
                    }
                }
            }
            Arrays.fill(taken, false);
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int i = 0; i < e; i++) {
                    if (!taken[i] && (best < 0 || probs[i] > probs[best])) {
                        best = i;
                    }
                }
                taken[best] = true;
                chosen[t * k + j] = best;
                weights[t * k + j] = (float) (probs[best] * routedScalingFactor);
            }
            Router.heaviestFirst(chosen, weights, t * k, k);
        }
        return new RouterOutput(layer, tokens, e, k, logits, chosen, weights);
    }
}
