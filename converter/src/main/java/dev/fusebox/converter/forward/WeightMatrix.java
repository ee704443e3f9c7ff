package dev.fusebox.converter.forward;

import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;

import java.lang.foreign.MemorySegment;

/**
 * A row-major [rows, cols] block of a stored tensor, read from a {@link dev.fusebox.converter.tensor.TensorSource}
 * (only that block's bytes) and decoded to float one row at a time: a whole 2-D weight, one embedding row, or one
 * expert's slice (or half of it) of a fused 3-D one.
 *
 * @param key          the tensor it comes from, for messages
 * @param firstElement index of the block's first element in the tensor
 */
public record WeightMatrix(String key, MemorySegment data, Dtype dtype, long firstElement, int rows, int cols) {

    /** Decodes row {@code row} into {@code dst[0, cols)}. */
    public void decodeRow(int row, float[] dst) {
        FloatCodec.decode(data, dtype, firstElement + (long) row * cols, dst, 0, cols);
    }

    /** Decodes {@code count} elements of the first row from column {@code from} into {@code dst[from...]}. */
    public void decodeRange(int from, float[] dst, int count) {
        FloatCodec.decode(data, dtype, firstElement + from, dst, from, count);
    }

    /** Decodes the whole block, row after row. */
    public float[] decodeAll() {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        FloatCodec.decode(data, dtype, firstElement, out, 0, out.length);
        return out;
    }

    /** {@code count} rows from {@code from}. */
    public WeightMatrix rows(int from, int count) {
        return new WeightMatrix(key, data, dtype, firstElement + (long) from * cols, count, cols);
    }

    /** Bytes of the tensor this block covers. */
    public long byteSize() {
        return Math.multiplyExact(Math.multiplyExact((long) rows, cols), dtype.byteSize());
    }
}
