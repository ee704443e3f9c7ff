package dev.fusebox.converter.tensor;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/** A tensor shape: non-negative dimensions, outermost first. An empty shape is a scalar. */
public record Shape(long[] dims) {

    public Shape {
        dims = dims.clone();
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
            }
        }
    }

    public static Shape of(long... dims) {
        return new Shape(dims);
    }

    public static Shape of(List<Long> dims) {
        return new Shape(dims.stream().mapToLong(Long::longValue).toArray());
    }

    public int rank() {
        return dims.length;
    }

    public long dim(int axis) {
        return dims[axis < 0 ? dims.length + axis : axis];
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** The number of elements; throws ArithmeticException when it does not fit in a long. */
    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Bits needed for this shape of the given dtype; throws ArithmeticException on overflow. */
    public long bitSize(Dtype dtype) {
        return Math.multiplyExact(elementCount(), dtype.bits());
    }

    /** Whether this shape of {@code dtype} fills whole bytes (a sub-byte dtype's elements may end mid-byte). */
    public boolean wholeBytes(Dtype dtype) {
        return bitSize(dtype) % 8 == 0;
    }

    /**
     * Bytes needed for this shape of the given dtype; throws ArithmeticException on overflow and
     * IllegalArgumentException when the elements end mid-byte (the reference's MisalignedSlice).
     */
    public long byteSize(Dtype dtype) {
        long bits = bitSize(dtype);
        if (bits % 8 != 0) {
            throw new IllegalArgumentException(this + " of " + dtype + " is " + bits + " bits, not whole bytes");
        }
        return bits / 8;
    }

    /** This shape with one dimension replaced. */
    public Shape withDim(int axis, long value) {
        long[] d = dims.clone();
        d[axis] = value;
        return new Shape(d);
    }

    /** This shape with a new outermost dimension. */
    public Shape prepend(long outer) {
        long[] d = new long[dims.length + 1];
        d[0] = outer;
        System.arraycopy(dims, 0, d, 1, dims.length);
        return new Shape(d);
    }

    /** This shape without its outermost dimension. */
    public Shape dropFirst() {
        return new Shape(Arrays.copyOfRange(dims, 1, dims.length));
    }

    public List<Long> toList() {
        return Arrays.stream(dims).boxed().toList();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.stream(dims).mapToObj(Long::toString).collect(Collectors.joining(", ", "[", "]"));
    }
}
