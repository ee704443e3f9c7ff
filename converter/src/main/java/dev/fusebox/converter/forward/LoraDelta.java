package dev.fusebox.converter.forward;

import java.util.Optional;

/**
 * A low-rank update applied beside a weight, never merged into it: {@code y += scale · B (A x)}, with A [r, in] and
 * B [out, r] decoded to float, row-major. With DoRA, {@code rowScales} holds each output row's
 * {@code m / ‖W + scale · B A‖} and the row becomes {@code m / ‖…‖ · (W x + scale · B A x)}, as PEFT's
 * DoraLinearVariant computes it in eval mode.
 *
 * @param storedBytes bytes of the adapter file read to build it
 */
public record LoraDelta(float[] a, float[] b, int rank, int in, int out, float scale, long storedBytes,
                        Optional<float[]> rowScales) {

    public LoraDelta {
        if (a.length != rank * in || b.length != out * rank) {
            throw new IllegalArgumentException("LoRA factors of " + a.length + " and " + b.length
                    + " values do not make [" + rank + ", " + in + "] and [" + out + ", " + rank + "]");
        }
        if (rowScales.isPresent() && rowScales.get().length != out) {
            throw new IllegalArgumentException("DoRA scales " + rowScales.get().length + " rows, not " + out);
        }
    }

    /** The plain LoRA update. */
    public LoraDelta(float[] a, float[] b, int rank, int in, int out, float scale, long storedBytes) {
        this(a, b, rank, in, out, scale, storedBytes, Optional.empty());
    }

    /**
     * Adds the update for {@code tokens} rows of {@code x} [tokens, in] to {@code y} [tokens, out], which holds
     * {@code x Wᵀ} (no bias: DoRA scales the weight's product only).
     */
    public void addTo(float[] x, int tokens, float[] y, Kernel kernel) {
        float[] ax = new float[rank];
        float[] f = rowScales.orElse(null);
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
                y[yo + o] = f == null ? y[yo + o] + s * scale : f[o] * (y[yo + o] + s * scale);
            }
        }
    }

    /**
     * This update with DoRA's magnitude {@code m} (one per output row) over {@code weight} [out, in]: each row's
     * factor {@code m / ‖W + scale · B A‖}, the norm over the row's inputs (PEFT's {@code get_weight_norm},
     * {@code dim=1}).
     */
    LoraDelta withMagnitude(float[] m, WeightMatrix weight, long magnitudeBytes) {
        float[] row = new float[in];
        float[] f = new float[out];
        for (int o = 0; o < out; o++) {
            weight.decodeRow(o, row);
            double squares = 0;
            for (int i = 0; i < in; i++) {
                double ba = 0;
                for (int k = 0; k < rank; k++) {
                    ba += (double) b[o * rank + k] * a[k * in + i];
                }
                double w = row[i] + scale * ba;
                squares += w * w;
            }
            f[o] = (float) (m[o] / Math.sqrt(squares));
        }
        return new LoraDelta(a, b, rank, in, out, scale, storedBytes + magnitudeBytes, Optional.of(f));
    }
}
