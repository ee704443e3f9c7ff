package dev.fusebox.converter.forward;

import java.util.Optional;

/**
 * How a MoE layer's router turns its logits into the chosen experts and their weights, as the family's modeling
 * file computes it. The correction bias, where the family has one ({@code e_score_correction_bias}), is added to
 * the scores only to choose the experts; the weights come from the scores without it.
 */
public sealed interface Router permits SoftmaxRouter, GroupLimitedSigmoidRouter {

    int experts();

    int topK();

    /**
     * Routes {@code tokens} rows of {@code logits} [tokens, experts]; {@code correctionBias} has one value per
     * expert.
     */
    RouterOutput route(int layer, float[] logits, int tokens, Optional<float[]> correctionBias);

    /**
     * The chosen experts of one token and their weights, reordered heaviest first (the order does not change the
     * result: the experts' outputs are summed in expert order).
     */
    static void heaviestFirst(int[] chosen, float[] weights, int offset, int k) {
        for (int i = offset + 1; i < offset + k; i++) {
            for (int j = i; j > offset && weights[j] > weights[j - 1]; j--) {
                float w = weights[j];
                weights[j] = weights[j - 1];
                weights[j - 1] = w;
                int c = chosen[j];
                chosen[j] = chosen[j - 1];
                chosen[j - 1] = c;
            }
        }
    }
}
