package dev.fusebox.converter.convert;

import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.List;

/**
 * Receives B's bytes of one tensor, in A's layout and order, and compares them with A's bytes read from A's file:
 * figures for the whole tensor and for each of its parts (the per-expert, gate and up pieces of a fused tensor),
 * with every byte of both sides read once.
 */
final class ValueComparison implements ByteSink {

    /** A part of the tensor: elements [start, end) in A's order. */
    record Part(String name, long start, long end) {
    }

    private static final int CHUNK = 1 << 20;
    private static final ValueLayout.OfShort BF16_BITS =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * What comparisons reuse, one tensor after another: A's and B's bytes of a chunk, their decoded values and the
     * raw bits of a 16-bit chunk. About 7 MiB; one per lane of a diff.
     */
    static final class Buffers {
        private final ByteBuffer aBytes = ByteBuffer.allocateDirect(CHUNK);
        /** B's bytes gathered into whole chunks: the writer's buffers may end inside an element. */
        private final ByteBuffer bBytes = ByteBuffer.allocateDirect(CHUNK);
        // The float dtypes decoded take 2 bytes or more an element.
        private final float[] av = new float[CHUNK / 2];
        private final float[] bv = new float[CHUNK / 2];
        private final short[] halves = new short[CHUNK / 2];
    }

    private final FileChannel aChannel;
    private final long aOffset;
    private final Dtype dtype;
    private final int elementBytes;
    private final List<Part> parts;
    private final Accumulator whole;
    private final Accumulator[] perPart;
    private final ByteBuffer aBytes;
    private final ByteBuffer bBytes;
    private final float[] av;
    private final float[] bv;
    private final short[] halves;
    /** The lanes of Σ a² over the run at work. */
    private final double[] squares = new double[SquareSums.LANES];
    private long position;
    private int part;
    private long worst = -1;
    private double worstDiff = -1;
    private double worstA = Double.NaN;
    private double worstB = Double.NaN;

    /** {@code parts} sorted by start and not overlapping; {@code buffers} this comparison's alone until it ends. */
    ValueComparison(FileChannel aChannel, long aOffset, Dtype dtype, List<Part> parts, Buffers buffers) {
        this.aChannel = aChannel;
        this.aOffset = aOffset;
        this.dtype = dtype;
        // Sub-byte elements (F4, F6_*) share bytes: such tensors are compared byte by byte.
        this.elementBytes = dtype.wholeBytes() ? dtype.byteSize() : 1;
        this.parts = List.copyOf(parts);
        this.whole = new Accumulator(dtype.decodable());
        this.perPart = new Accumulator[parts.size()];
        for (int i = 0; i < perPart.length; i++) {
            perPart[i] = new Accumulator(dtype.decodable());
        }
        this.aBytes = buffers.aBytes.clear();
        this.bBytes = buffers.bBytes.clear();
        this.av = buffers.av;
        this.bv = buffers.bv;
        this.halves = buffers.halves;
    }

    Difference whole() {
        return whole.result();
    }

    /** The element with the largest difference (the first that differs for dtypes that are not floats), or -1. */
    long worst() {
        return worst;
    }

    /** A's value at {@link #worst()} (NaN where values are not floats or none differ). */
    double worstA() {
        return worstA;
    }

    double worstB() {
        return worstB;
    }

    /** A's bytes compared so far. */
    long compared() {
        return position;
    }

    /** The figures of each part, in the order given. */
    List<Difference> parts() {
        return Arrays.stream(perPart).map(Accumulator::result).toList();
    }

    @Override
    public void write(ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            int n = Math.min(bytes.remaining(), bBytes.remaining());
            bBytes.put(bytes.slice(bytes.position(), n));
            bytes.position(bytes.position() + n);
            if (!bBytes.hasRemaining()) {
                flush();
            }
        }
    }

    /** B's bytes read straight into the chunk being gathered, without passing through {@code scratch}. */
    @Override
    public void transfer(FileChannel source, long position, long count, ByteBuffer scratch) throws IOException {
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(bBytes.remaining(), count - done);
            int end = bBytes.position() + n;
            SourceFiles.readFully(source, bBytes.limit(end), position + done);
            bBytes.limit(bBytes.capacity());
            done += n;
            if (!bBytes.hasRemaining()) {
                flush();
            }
        }
    }

    /** Compares what is left; call once B's bytes of the tensor are all written. */
    void finish() throws IOException {
        flush();
    }

    /** Compares the gathered chunk of B with A's bytes at the same place (CHUNK is a whole number of elements). */
    private void flush() throws IOException {
        int n = bBytes.position();
        if (n == 0) {
            return;
        }
        aBytes.clear().limit(n);
        SourceFiles.readFully(aChannel, aBytes, aOffset + position);
        MemorySegment mine = MemorySegment.ofBuffer(aBytes.flip()).asSlice(0, n);
        MemorySegment theirs = MemorySegment.ofBuffer(bBytes.flip()).asSlice(0, n);
        compare(mine, theirs, position / elementBytes, n / elementBytes);
        bBytes.clear();
        position += n;
    }

    private void compare(MemorySegment mine, MemorySegment theirs, long first, int count) {
        boolean same = mine.mismatch(theirs) < 0;
        boolean floats = dtype.decodable();
        // Where the bytes agree only A's squares are wanted: bfloat16's come straight from its bits.
        boolean bf16Bits = floats && same && dtype == Dtype.BF16;
        if (bf16Bits) {
            MemorySegment.copy(mine, BF16_BITS, 0, halves, 0, count);
        } else if (floats) {
            FloatCodec.decode(mine, dtype, av, count, halves);
            if (!same) {
                FloatCodec.decode(theirs, dtype, bv, count, halves);
            }
        }
        int i = 0;
        while (i < count) {
            long at = first + i;
            while (part < parts.size() && parts.get(part).end() <= at) {
                part++;
            }
            Accumulator p = null;
            int end = count;
            if (part < parts.size()) {
                Part current = parts.get(part);
                if (current.start() <= at) {
                    p = perPart[part];
                    end = (int) Math.min(count, current.end() - first);
                } else {
                    end = (int) Math.min(count, current.start() - first);
                }
            }
            // A's norm grows by the run's squares, summed once for the tensor and its part.
            if (floats) {
                Arrays.fill(squares, 0);
                if (bf16Bits) {
                    SquareSums.addBf16(halves, i, end, at, squares);
                } else {
                    SquareSums.add(av, i, end, at, squares);
                }
            }
            whole.addRun(end - i, squares);
            if (p != null) {
                p.addRun(end - i, squares);
            }
            // The common case, a chunk whose bytes agree, has nothing more to do: no check per element.
            for (int k = i; !same && k < end; k++) {
                if (differs(mine, theirs, k)) {
                    whole.addDiffering(av, bv, k);
                    if (p != null) {
                        p.addDiffering(av, bv, k);
                    }
                    noteWorst(first + k, k);
                }
            }
            i = end;
        }
    }

    /** Whether element {@code k}'s bytes differ between the two chunks. */
    private boolean differs(MemorySegment mine, MemorySegment theirs, int k) {
        return switch (elementBytes) {
            case 1 -> mine.get(ValueLayout.JAVA_BYTE, k) != theirs.get(ValueLayout.JAVA_BYTE, k);
            case 2 -> mine.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, k)
                    != theirs.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, k);
            case 4 -> mine.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, k)
                    != theirs.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, k);
            case 8 -> mine.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, k)
                    != theirs.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, k);
            default -> mine.asSlice((long) k * elementBytes, elementBytes)
                    .mismatch(theirs.asSlice((long) k * elementBytes, elementBytes)) >= 0;
        };
    }

    private void noteWorst(long element, int k) {
        if (!dtype.decodable()) {
            if (worst < 0) {
                worst = element;
            }
            return;
        }
        double x = av[k];
        double y = bv[k];
        double d = Double.isNaN(x) != Double.isNaN(y) ? Double.POSITIVE_INFINITY
                : Double.isNaN(x) ? 0 : Math.abs(x - y);
        if (d > worstDiff) {
            worst = element;
            worstDiff = d;
            worstA = x;
            worstB = y;
        }
    }

    /** Running figures of one tensor or part. */
    private static final class Accumulator {
        private final boolean floats;
        private final double[] squares = new double[SquareSums.LANES];
        private long elements;
        private long differing;
        private double max;
        private double ssd;

        Accumulator(boolean floats) {
            this.floats = floats;
        }

        /** A run of {@code count} elements, with the lanes of Σ a² over its finite ones. */
        void addRun(int count, double[] runSquares) {
            elements += count;
            if (floats) {
                for (int j = 0; j < SquareSums.LANES; j++) {
                    squares[j] += runSquares[j];
                }
            }
        }

        /** Element {@code k} of the run, whose bytes differ in B. */
        void addDiffering(float[] a, float[] b, int k) {
            differing++;
            if (!floats) {
                return;
            }
            double x = a[k];
            double y = b[k];
            if (Double.isNaN(x) != Double.isNaN(y)) {
                max = Double.POSITIVE_INFINITY;
            } else if (Double.isFinite(x) && Double.isFinite(y)) {
                double d = x - y;
                ssd += d * d;
                max = Math.max(max, Math.abs(d));
            } else if (!Double.isNaN(x)) {
                max = Double.POSITIVE_INFINITY;
            }
        }

        Difference result() {
            return new Difference(elements, differing, floats ? max : Double.NaN, ssd,
                    floats ? SquareSums.total(squares) : 0);
        }
    }
}
