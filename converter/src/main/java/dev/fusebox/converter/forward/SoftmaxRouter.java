package dev.fusebox.converter.forward;

import java.util.Arrays;
import java.util.Optional;

/**
 * The softmax router of Mixtral, Qwen-MoE, OLMoE and ERNIE-4.5-MoE: a softmax over all experts in float32, the
 * top-k by probability (ERNIE: by probability plus its {@code moe_statics} correction bias), their probabilities as
 * weights, renormalised over the top-k when {@code normTopK} (ERNIE divides by the sum clamped to at least
 * {@code normMin}; the others by the sum, {@code normMin} 0).
 */
public record SoftmaxRouter(int experts, int topK, boolean normTopK, double normMin) implements Router {

    @Override
    public RouterOutput route(int layer, float[] logits, int tokens, Optional<float[]> correctionBias) {
        int e = experts;
        int k = topK;
        int[] chosen = new int[tokens * k];
        float[] chosenWeights = new float[tokens * k];
        float[] probs = new float[e];
        boolean[] taken = new boolean[e];
        float[] bias = correctionBias.orElse(null);
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
            Arrays.fill(taken, false);
            float top = 0;
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int i = 0; i < e; i++) {
                    if (!taken[i] && (best < 0 || choice(probs, bias, i) > choice(probs, bias, best))) {
                        best = i;
                    }
                }
                taken[best] = true;
                chosen[t * k + j] = best;
                chosenWeights[t * k + j] = probs[best];
                top += probs[best];
            }
            if (normTopK) {
                float denominator = (float) Math.max(top, normMin);
                for (int j = 0; j < k; j++) {
                    chosenWeights[t * k + j] /= denominator;
                }
            }
            Router.heaviestFirst(chosen, chosenWeights, t * k, k);
        }
        return new RouterOutput(layer, tokens, e, k, logits, chosen, chosenWeights);
    }

    private static double choice(float[] probs, float[] bias, int expert) {
        return bias == null ? probs[expert] : (double) probs[expert] + bias[expert];
    }
}
