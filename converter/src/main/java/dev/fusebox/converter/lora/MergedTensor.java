package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.plan.SourceReader;
import dev.fusebox.converter.plan.TargetSink;
import dev.fusebox.converter.plan.TensorComputation;
import dev.fusebox.converter.safetensors.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * A base tensor with LoRA merged in: its segments, in target order, are runs of source elements (a legacy weight, or
 * part of a stacked one) to which {@code scale · B @ A} of the legacy weight they are is added, computed in double
 * and rounded once to the target dtype. Segments without a delta are copied as they are. Memory is bounded by one
 * chunk of rows and the delta's A.
 */
record MergedTensor(Dtype dtype, List<Segment> segments) implements TensorComputation {

    /** Elements handled per step. */
    static final int CHUNK = 1 << 16;

    /**
     * {@code count} elements of {@code source} from element {@code from}, landing in order; when {@code delta} is
     * present they are elements {@code deltaFrom…} of the weight it changes (row-major [out, in]).
     */
    record Segment(String source, Dtype sourceDtype, long from, long count, Optional<AdapterDeltas.Delta> delta,
                   long deltaFrom) {
    }

    MergedTensor {
        segments = List.copyOf(segments);
    }

    @Override
    public void write(SourceReader sources, TargetSink target) throws IOException, FuseboxException {
        Buffers buffers = new Buffers();
        for (Segment s : segments) {
            if (s.delta.isEmpty() && s.sourceDtype == dtype) {
                copy(sources, target, s, buffers);
            } else {
                merge(sources, target, s, buffers);
            }
        }
    }

    /** What one tensor's segments reuse: raw bytes, values, the encoded output, and reads of B. */
    private static final class Buffers {
        final byte[] raw = new byte[CHUNK * Long.BYTES];
        final double[] values = new double[CHUNK];
        final byte[] encoded = new byte[CHUNK * Long.BYTES];
        final Scratch reads = new Scratch();
        final Scratch rows = new Scratch();
    }

    private static void copy(SourceReader sources, TargetSink target, Segment s, Buffers buf)
            throws IOException, FuseboxException {
        int size = s.sourceDtype.byteSize();
        for (long done = 0; done < s.count; ) {
            int n = (int) Math.min(CHUNK, s.count - done);
            ByteBuffer bytes = ByteBuffer.wrap(buf.raw, 0, Math.multiplyExact(n, size));
            sources.read(s.source, Math.multiplyExact(s.from + done, size), bytes);
            target.write(bytes.flip());
            done += n;
        }
    }

    private void merge(SourceReader sources, TargetSink target, Segment s, Buffers buf)
            throws IOException, FuseboxException {
        AdapterDeltas.Delta d = s.delta.orElse(null);
        int in = d == null ? 1 : Math.toIntExact(d.in());
        int r = d == null ? 0 : d.rank();
        double[] a = new double[Math.multiplyExact(r, in)];
        if (d != null) {
            d.a().readRows(sources, 0, r, a, 0, buf.reads);
        }
        int size = s.sourceDtype.byteSize();
        double[] product = new double[in];
        double[] values = buf.values;
        MemorySegment base = MemorySegment.ofArray(buf.raw);
        for (long done = 0; done < s.count; ) {
            int n = (int) Math.min(in > CHUNK ? in : CHUNK - CHUNK % in, s.count - done);
            if (n > values.length) {
                values = new double[n];
                base = MemorySegment.ofArray(new byte[Math.multiplyExact(n, Long.BYTES)]);
            }
            ByteBuffer bytes = base.asByteBuffer().limit(Math.multiplyExact(n, size));
            sources.read(s.source, Math.multiplyExact(s.from + done, size), bytes);
            for (int i = 0; i < n; i++) {
                values[i] = FloatCodec.get(base, s.sourceDtype, i);
            }
            if (d != null) {
                addDelta(sources, d, s.deltaFrom + done, n, values, a, product, buf.rows);
            }
            byte[] encoded = buf.encoded.length >= n * dtype.byteSize() ? buf.encoded
                    : new byte[Math.multiplyExact(n, dtype.byteSize())];
            ByteBuffer out = BlockMatrix.encode(values, n, dtype, encoded);
            if (d != null) {
                checkFinite(s, d, done, n, base, MemorySegment.ofArray(encoded));
            }
            target.write(out);
            done += n;
        }
    }

    /**
     * Refuses a merged element that is NaN or infinite in the target dtype where the base's was finite: an alpha
     * such as 1e308 (or factors that large) would otherwise write a model of NaN with no word said.
     */
    private void checkFinite(Segment s, AdapterDeltas.Delta d, long done, int n, MemorySegment base,
                             MemorySegment merged) throws FuseboxException {
        for (int i = 0; i < n; i++) {
            double m = FloatCodec.get(merged, dtype, i);
            if (!Double.isFinite(m)) {
                double b = FloatCodec.get(base, s.sourceDtype, i);
                if (Double.isFinite(b)) {
                    throw new FuseboxException(Problem.INVALID_ADAPTER, null, s.source, "merging the LoRA of "
                            + d.module() + " (scale " + d.scale() + ") makes its element " + (s.deltaFrom + done + i)
                            + " " + (Double.isNaN(m) ? "NaN" : "infinite") + " in " + dtype.name() + " (the base "
                            + "holds " + b + "), so the adapter's lora_alpha or factors are too large to merge");
                }
            }
        }
    }

    /** Adds {@code scale · (B @ A)} at weight elements {@code [first, first + n)} to {@code values}. */
    private static void addDelta(SourceReader sources, AdapterDeltas.Delta d, long first, int n, double[] values,
                                 double[] a, double[] product, Scratch scratch) throws IOException, FuseboxException {
        int in = a.length / Math.max(1, d.rank());
        int r = d.rank();
        long row0 = first / in;
        int rows = (int) ((first + n - 1) / in + 1 - row0);
        double[] b = scratch.doubles(rows * r);
        d.b().readRows(sources, row0, rows, b, 0, scratch);
        for (int i = 0; i < n; ) {
            long e = first + i;
            int row = (int) (e / in - row0);
            int col = (int) (e % in);
            int len = Math.min(in - col, n - i);
            java.util.Arrays.fill(product, 0, len, 0.0);
            for (int k = 0; k < r; k++) {
                double bk = b[row * r + k];
                int at = k * in + col;
                for (int j = 0; j < len; j++) {
                    product[j] += bk * a[at + j];
                }
            }
            for (int j = 0; j < len; j++) {
                values[i + j] += d.scale() * product[j];
            }
            i += len;
        }
    }
}
