package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;

import java.lang.foreign.MemorySegment;

/**
 * A tensor's elements as floats, read a range at a time: its bytes decoded, or values computed from several tensors
 * (an FP8 weight times its block scales), so that statistics need not know which.
 */
@FunctionalInterface
public interface FloatValues {

    /** Elements {@code first} to {@code first + n - 1}, in row-major order, into {@code dst[0..n)}. */
    void read(long first, float[] dst, int n) throws FuseboxException;

    /** The elements of a tensor of a decodable {@code dtype} whose bytes {@code data} reads. */
    static FloatValues decoded(ByteRanges data, Dtype dtype) {
        int size = dtype.byteSize();
        return (first, dst, n) -> {
            MemorySegment chunk = data.read(Math.multiplyExact(first, size), Math.multiplyExact((long) n, size));
            FloatCodec.decode(chunk, dtype, 0, dst, 0, n);
        };
    }
}
