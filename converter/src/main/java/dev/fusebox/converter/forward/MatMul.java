package dev.fusebox.converter.forward;

import java.util.concurrent.atomic.LongAdder;
import java.util.stream.IntStream;

/**
 * {@code y = x Wᵀ (+ LoRA)} for a few tokens at once: each weight row is decoded once and dotted with every token,
 * so a weight is read from memory once per call whatever the number of tokens. Rows are split across the cores of
 * the common fork-join pool when the work is large enough to pay for the split.
 */
final class MatMul {

    /** Below this many multiply-adds a call stays on the calling thread. */
    private static final long PARALLEL_WORK = 1L << 17;

    private final Kernel kernel;
    private final int chunks;
    private final LongAdder bytesRead = new LongAdder();

    MatMul(Kernel kernel, int threads) {
        this.kernel = kernel;
        this.chunks = Math.max(1, threads) * 4;
    }

    Kernel kernel() {
        return kernel;
    }

    /** Bytes of weights and adapters read so far. */
    long bytesRead() {
        return bytesRead.sum();
    }

    /** Counts bytes read outside {@link #apply} (embedding rows). */
    void countRead(long bytes) {
        bytesRead.add(bytes);
    }

    /** {@code x} is [tokens, in], the result [tokens, out]. */
    float[] apply(Linear linear, float[] x, int tokens) {
        WeightMatrix w = linear.weight();
        int rows = w.rows();
        int cols = w.cols();
        if (x.length < tokens * cols) {
            throw new IllegalArgumentException(w.key() + ": input of " + x.length + " values for " + tokens
                    + " tokens of " + cols);
        }
        float[] y = new float[Math.multiplyExact(tokens, rows)];
        long work = (long) rows * cols * tokens;
        int parts = work < PARALLEL_WORK ? 1 : Math.min(chunks, rows);
        if (parts == 1) {
            rows(w, x, tokens, y, 0, rows);
        } else {
            IntStream.range(0, parts).parallel().forEach(p -> {
                int from = (int) ((long) rows * p / parts);
                int to = (int) ((long) rows * (p + 1) / parts);
                rows(w, x, tokens, y, from, to);
            });
        }
        bytesRead.add(w.byteSize());
        linear.lora().ifPresent(d -> {
            d.addTo(x, tokens, y, kernel);
            bytesRead.add(d.storedBytes());
        });
        return y;
    }

    private void rows(WeightMatrix w, float[] x, int tokens, float[] y, int from, int to) {
        int cols = w.cols();
        int rows = w.rows();
        float[] row = new float[cols];
        float[] out = new float[tokens];
        for (int o = from; o < to; o++) {
            kernel.decodeRow(w, o, row);
            kernel.dotTokens(row, x, tokens, cols, out);
            for (int t = 0; t < tokens; t++) {
                y[t * rows + o] = out[t];
            }
        }
    }
}
