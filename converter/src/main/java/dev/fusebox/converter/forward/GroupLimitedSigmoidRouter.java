package dev.fusebox.converter.forward;

import java.util.Optional;

/**
 * The sigmoid router of GLM-4-MoE, dots1, Solar-Open, MiniMax-M2 and DeepSeek-V3: scores are the sigmoid of the logits
 * (float32); the choice adds the correction bias to them, splits the experts into {@code groups} equal groups,
 * ranks each group by the sum of its two best biased scores, keeps the best {@code topKGroups} groups and takes the
 * top-k experts of those; the weights are the chosen experts' unbiased scores, divided by their sum (plus 1e-20)
 * when {@code normTopK}, then multiplied by {@code routedScalingFactor}. One group of all experts is the plain
 * top-k (MiniMax-M2).
 */
public record GroupLimitedSigmoidRouter(int experts, int topK, int groups, int topKGroups, boolean normTopK,
                                        double routedScalingFactor) implements Router {

    public GroupLimitedSigmoidRouter {
        if (groups < 1 || experts % groups != 0 || topKGroups < 1 || topKGroups > groups
                || topK > topKGroups * (experts / groups) || (groups > 1 && experts / groups < 2)) {
            throw new IllegalArgumentException(experts + " experts in " + groups + " groups, " + topKGroups
                    + " groups kept and " + topK + " experts chosen do not fit together");
        }
    }

    @Override
    public RouterOutput route(int layer, float[] logits, int tokens, Optional<float[]> correctionBias) {
        int e = experts;
        int k = topK;
        int perGroup = e / groups;
        float[] bias = correctionBias.orElse(new float[e]);
        int[] chosen = new int[tokens * k];
        float[] weights = new float[tokens * k];
        float[] scores = new float[e];
        double[] choice = new double[e];
        double[] groupScore = new double[groups];
        boolean[] keptGroup = new boolean[groups];
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < e; i++) {
                scores[i] = (float) (1.0 / (1.0 + Math.exp(-logits[t * e + i])));
                choice[i] = (double) scores[i] + bias[i];
            }
            if (groups > 1) {
                for (int g = 0; g < groups; g++) {
                    double first = Double.NEGATIVE_INFINITY;
                    double second = Double.NEGATIVE_INFINITY;
                    for (int i = g * perGroup; i < (g + 1) * perGroup; i++) {
                        if (choice[i] > first) {
                            second = first;
                            first = choice[i];
                        } else if (choice[i] > second) {
                            second = choice[i];
                        }
                    }
                    groupScore[g] = first + second;
                }
                GroupLimit.keepBest(groupScore, topKGroups, keptGroup);
                for (int i = 0; i < e; i++) {
                    if (!keptGroup[i / perGroup]) {
                        choice[i] = Double.NEGATIVE_INFINITY;
                    }
                }
            }
            float sum = 0;
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int i = 0; i < e; i++) {
                    if (choice[i] != Double.NEGATIVE_INFINITY && (best < 0 || choice[i] > choice[best])) {
                        best = i;
                    }
                }
                choice[best] = Double.NEGATIVE_INFINITY;
                chosen[t * k + j] = best;
                weights[t * k + j] = scores[best];
                sum += scores[best];
            }
            float denominator = sum + 1e-20f;
            for (int j = 0; j < k; j++) {
                float w = normTopK ? weights[t * k + j] / denominator : weights[t * k + j];
                weights[t * k + j] = (float) (w * routedScalingFactor);
            }
            Router.heaviestFirst(chosen, weights, t * k, k);
        }
        return new RouterOutput(layer, tokens, e, k, logits, chosen, weights);
    }
}
