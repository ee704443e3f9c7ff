package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.plan.SourceReader;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.FloatCodec;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * A matrix that is part of a stored tensor: element (i, j) is the tensor's element
 * {@code offset + i·rowStride + j·colStride} (counting elements in row-major order). A legacy LoRA factor is its
 * whole tensor; expert e's part of a fused v5 factor is a block of rows (of A) or a strided set of columns (of B).
 */
public record MatrixView(TensorSpec tensor, long rows, long cols, long offset, long rowStride, long colStride) {

    /** Most elements read from a tensor at once. */
    static final int MAX_SPAN = 1 << 20;

    public MatrixView {
        if (rows < 0 || cols < 0 || offset < 0 || rowStride < 0 || colStride < 0) {
            throw new IllegalArgumentException("a matrix view has no negative sizes or strides");
        }
        if (rows > 0 && cols > 0) {
            long last = Math.addExact(offset, Math.addExact(Math.multiplyExact(rows - 1, rowStride),
                    Math.multiplyExact(cols - 1, colStride)));
            if (last >= tensor.shape().elementCount()) {
                throw new IllegalArgumentException("a " + rows + "×" + cols + " view reaches past the end of "
                        + tensor.key() + " " + tensor.shape());
            }
        }
    }

    /** The whole of a 2-D tensor. */
    public static MatrixView whole(TensorSpec tensor) {
        long rows = tensor.shape().dim(0);
        long cols = tensor.shape().dim(1);
        return new MatrixView(tensor, rows, cols, 0, cols, 1);
    }

    /** Rows {@code [from, from + count)} of a 2-D tensor. */
    public static MatrixView rows(TensorSpec tensor, long from, long count) {
        long cols = tensor.shape().dim(1);
        return new MatrixView(tensor, count, cols, Math.multiplyExact(from, cols), cols, 1);
    }

    /** Whether the rows lie back to back in the tensor, so the view is one contiguous range of it. */
    private boolean contiguous() {
        return colStride == 1 && (rows <= 1 || rowStride == cols);
    }

    /** The tensor element index of element (i, j). */
    public long index(long i, long j) {
        return offset + i * rowStride + j * colStride;
    }

    /** Reads rows {@code [from, from + count)} into {@code dst} from {@code dstOffset}, row after row, as doubles. */
    public void readRows(SourceReader reader, long from, int count, double[] dst, int dstOffset)
            throws IOException, FuseboxException {
        readRows(reader, from, count, dst, dstOffset, new Scratch());
    }

    /** As {@link #readRows(SourceReader, long, int, double[], int)}, reading through {@code scratch}. */
    void readRows(SourceReader reader, long from, int count, double[] dst, int dstOffset, Scratch scratch)
            throws IOException, FuseboxException {
        int width = Math.toIntExact(cols);
        int size = tensor.dtype().byteSize();
        int done = 0;
        while (done < count) {
            int batch = 1;
            while (done + batch < count && span(batch + 1) <= MAX_SPAN) {
                batch++;
            }
            long first = index(from + done, 0);
            int span = Math.toIntExact(span(batch));
            int length = Math.multiplyExact(span, size);
            byte[] bytes = scratch.bytes(length);
            reader.read(tensor.key(), Math.multiplyExact(first, size), ByteBuffer.wrap(bytes, 0, length));
            MemorySegment seg = MemorySegment.ofArray(bytes);
            for (int i = 0; i < batch; i++) {
                int out = dstOffset + (done + i) * width;
                long base = (long) i * rowStride;
                for (int j = 0; j < width; j++) {
                    dst[out + j] = FloatCodec.get(seg, tensor.dtype(), base + j * colStride);
                }
            }
            done += batch;
        }
    }

    /** Elements from the first of {@code n} rows' first element to the last one's last, inclusive. */
    private long span(int n) {
        return (n - 1) * rowStride + (cols - 1) * colStride + 1;
    }

    /** Element (i, j), read from mapped tensor data (for plan-time checks; conversions stream through a reader). */
    public double get(MemorySegment data, long i, long j) {
        return FloatCodec.get(data, tensor.dtype(), index(i, j));
    }

    @Override
    public String toString() {
        if (contiguous() && offset == 0 && rows * cols == tensor.shape().elementCount()) {
            return tensor.key();
        }
        return tensor.key() + "[" + rows + "×" + cols + " from element " + offset + ", strides " + rowStride + ", "
                + colStride + "]";
    }
}
