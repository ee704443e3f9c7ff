package dev.fusebox.converter.forward;

/**
 * A low-rank update applied beside a weight, never merged into it: {@code y += scale · B (A x)}, with A [r, in] and
 * B [out, r] decoded to float, row-major.
 *
 * @param storedBytes bytes of the adapter file read to build it
 */
public record LoraDelta(float[] a, float[] b, int rank, int in, int out, float scale, long storedBytes) {

    public LoraDelta {
        if (a.length != rank * in || b.length != out * rank) {
            throw new IllegalArgumentException("LoRA factors of " + a.length + " and " + b.length
                    + " values do not make [" + rank + ", " + in + "] and [" + out + ", " + rank + "]");
        }
    }

    /** Adds the update for {@code tokens} rows of {@code x} [tokens, in] to {@code y} [tokens, out]. */
    public void addTo(float[] x, int tokens, float[] y, Kernel kernel) {
        float[] ax = new float[rank];
        for (int t = 0; t < tokens; t++) {
            for (int k = 0; k < rank; k++) {
                ax[k] = kernel.dot(a, k * in, x, t * in, in);
            }
            int yo = t * out;
            for (int o = 0; o < out; o++) {
                float s = 0;
                int bo = o * rank;
                for (int k = 0; k < rank; k++) {
                    s += b[bo + k] * ax[k];
                }
                y[yo + o] += s * scale;
            }
        }
    }
}
