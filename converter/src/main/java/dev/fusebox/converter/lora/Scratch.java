package dev.fusebox.converter.lora;

/**
 * Buffers a computation reuses from chunk to chunk, grown to the largest size asked for, so that streaming a large
 * tensor allocates a few buffers once instead of garbage per chunk.
 */
final class Scratch {

    private byte[] bytes = new byte[0];
    private double[] doubles = new double[0];

    /** At least {@code n} bytes; their content is undefined. */
    byte[] bytes(int n) {
        if (bytes.length < n) {
            bytes = new byte[n];
        }
        return bytes;
    }

    /** At least {@code n} doubles; their content is undefined. */
    double[] doubles(int n) {
        if (doubles.length < n) {
            doubles = new double[n];
        }
        return doubles;
    }
}
