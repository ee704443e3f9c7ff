package dev.fusebox.converter.forward;

import java.util.Arrays;

/**
 * What one layer's router decided: its logits [tokens, experts], and per token the chosen experts (in the order
 * of their weight, heaviest first) and their weights after normalising over the top-k.
 */
public record RouterOutput(int layer, int tokens, int experts, int topK, float[] logits, int[] chosen,
                           float[] weights) {

    /** The experts chosen for {@code position}, heaviest first. */
    public int[] chosen(int position) {
        return Arrays.copyOfRange(chosen, position * topK, (position + 1) * topK);
    }

    /** The chosen experts of {@code position} in ascending order: what decides the result. */
    public int[] chosenSet(int position) {
        int[] c = chosen(position);
        Arrays.sort(c);
        return c;
    }

    public float[] logits(int position) {
        return Arrays.copyOfRange(logits, position * experts, (position + 1) * experts);
    }
}
