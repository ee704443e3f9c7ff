package dev.fusebox.converter.forward;

import java.util.Arrays;
import java.util.List;

/**
 * One forward pass: the residual stream after the embedding and after each layer run, the final-norm output, each
 * layer's router decisions and the logits, all [tokens, width] row-major; and what the pass cost.
 *
 * @param hidden          {@code layersRun + 1} states: the embedding output, then the output of each layer
 * @param normed          the final RMSNorm of the last state, what lm_head reads
 * @param expertInputs    per layer run, what its experts took: the post-attention RMSNorm of the residual stream
 * @param weightBytesRead bytes of weights (and adapter factors) the pass read from the files
 */
public record ForwardResult(int[] tokens, int layersRun, int hiddenSize, int vocab, List<float[]> hidden,
                            List<float[]> expertInputs, float[] normed, List<RouterOutput> routers, float[] logits,
                            long weightBytesRead, long nanos) {

    public int positions() {
        return tokens.length;
    }

    /** The logits of one position. */
    public float[] logits(int position) {
        return Arrays.copyOfRange(logits, position * vocab, (position + 1) * vocab);
    }

    /** The logits as [position][vocab]. */
    public float[][] logitsByPosition() {
        float[][] out = new float[tokens.length][];
        for (int p = 0; p < tokens.length; p++) {
            out[p] = logits(p);
        }
        return out;
    }

    /** The state after {@code index} layers (0 is the embedding output), one position. */
    public float[] hidden(int index, int position) {
        return Arrays.copyOfRange(hidden.get(index), position * hiddenSize, (position + 1) * hiddenSize);
    }
}
