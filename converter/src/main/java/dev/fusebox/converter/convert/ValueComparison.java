package dev.fusebox.converter.convert;

import dev.fusebox.converter.safetensors.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
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

    private final FileChannel aChannel;
    private final long aOffset;
    private final Dtype dtype;
    private final int elementBytes;
    private final List<Part> parts;
    private final Accumulator whole;
    private final Accumulator[] perPart;
    private final ByteBuffer aBytes = ByteBuffer.allocateDirect(CHUNK);
    /** B's bytes gathered into whole chunks: the writer's buffers may end inside an element. */
    private final ByteBuffer bBytes = ByteBuffer.allocateDirect(CHUNK);
    private final float[] av;
    private final float[] bv;
    private long position;
    private int part;
    private long worst = -1;
    private double worstDiff = -1;
    private double worstA = Double.NaN;
    private double worstB = Double.NaN;

    /** {@code parts} sorted by start and not overlapping. */
    ValueComparison(FileChannel aChannel, long aOffset, Dtype dtype, List<Part> parts) {
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
        int n = dtype.decodable() ? CHUNK / elementBytes : 0;
        this.av = new float[n];
        this.bv = new float[n];
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
        if (dtype.decodable()) {
            FloatCodec.decode(mine, dtype, 0, av, 0, count);
            if (!same) {
                FloatCodec.decode(theirs, dtype, 0, bv, 0, count);
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
            if (same) {
                // The common case, a chunk whose bytes agree: only A's norm grows, without a check per element.
                whole.addSame(av, i, end);
                if (p != null) {
                    p.addSame(av, i, end);
                }
                i = end;
                continue;
            }
            for (int k = i; k < end; k++) {
                boolean differs = !same && mine.asSlice((long) k * elementBytes, elementBytes)
                        .mismatch(theirs.asSlice((long) k * elementBytes, elementBytes)) >= 0;
                whole.add(av, bv, k, differs);
                if (differs) {
                    noteWorst(first + k, k);
                }
                if (p != null) {
                    p.add(av, bv, k, differs);
                }
            }
            i = end;
        }
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
        private long elements;
        private long differing;
        private double max;
        private double ssd;
        private double ssa;

        Accumulator(boolean floats) {
            this.floats = floats;
        }

        /** Elements [from, to) of {@code a}, equal in B. */
        void addSame(float[] a, int from, int to) {
            elements += to - from;
            if (!floats) {
                return;
            }
            double sum = ssa;
            for (int k = from; k < to; k++) {
                double x = a[k];
                if (Double.isFinite(x)) {
                    sum += x * x;
                }
            }
            ssa = sum;
        }

        void add(float[] a, float[] b, int k, boolean differs) {
            elements++;
            if (!floats) {
                differing += differs ? 1 : 0;
                return;
            }
            double x = a[k];
            if (Double.isFinite(x)) {
                ssa += x * x;
            }
            if (!differs) {
                return;
            }
            differing++;
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
            return new Difference(elements, differing, floats ? max : Double.NaN, ssd, ssa);
        }
    }
}
