package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.plan.SourceReader;
import dev.fusebox.converter.plan.TargetSink;
import dev.fusebox.converter.plan.TensorComputation;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * A base tensor with an adapter merged in: its segments, in target order, are runs of source elements (a legacy
 * weight or bias, or part of a stacked one) to which the change of the legacy tensor they are is applied as PEFT 0.21
 * merges it — {@code W + scale · B @ A} (an embedding's transposed product), DoRA's {@code m · (W + ΔW) / ‖W + ΔW‖}
 * per row (an embedding's per column), a LoRA bias {@code b + scale · lora_B.bias} — computed in double and rounded
 * once to the target dtype. Segments without a change are copied as they are. Memory is bounded by one chunk of rows
 * and the factors read whole (A; for an embedding also B, and its per-column DoRA norms take a first pass).
 */
record MergedTensor(Dtype dtype, List<Segment> segments) implements TensorComputation {

    /** Elements handled per step. */
    static final int CHUNK = 1 << 16;

    /**
     * {@code count} elements of {@code source} from element {@code from}, landing in order; when {@code change} is
     * present they are elements {@code changeFrom…} of the tensor it changes (row-major, [out, in] for a weight).
     * A DoRA change's segments hold whole rows (an embedding's, the whole weight).
     */
    record Segment(String source, Dtype sourceDtype, long from, long count,
                   Optional<AdapterDeltas.Change> change, long changeFrom) {
    }

    MergedTensor {
        segments = List.copyOf(segments);
    }

    @Override
    public void write(SourceReader sources, TargetSink target) throws IOException, FuseboxException {
        Buffers buffers = new Buffers();
        for (Segment s : segments) {
            if (s.change.isEmpty() && s.sourceDtype == dtype) {
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
        Factors f = Factors.read(sources, s.change, buf.reads);
        double[] columnScales = f.columnDora() ? columnScales(sources, s, f, buf) : null;
        int in = f.rowLength();
        MemorySegment base = MemorySegment.ofArray(buf.raw);
        double[] values = buf.values;
        for (long done = 0; done < s.count; ) {
            int n = (int) Math.min(in > CHUNK ? in : CHUNK - CHUNK % in, s.count - done);
            if (n > values.length) {
                values = new double[n];
                base = MemorySegment.ofArray(new byte[Math.multiplyExact(n, Long.BYTES)]);
            }
            decode(sources, s, done, n, base, values);
            f.apply(sources, s.changeFrom + done, n, values, buf.rows, columnScales);
            byte[] encoded = buf.encoded.length >= n * dtype.byteSize() ? buf.encoded
                    : new byte[Math.multiplyExact(n, dtype.byteSize())];
            ByteBuffer out = BlockMatrix.encode(values, n, dtype, encoded);
            if (s.change.isPresent()) {
                checkFinite(s, s.change.get(), done, n, base, MemorySegment.ofArray(encoded));
            }
            target.write(out);
            done += n;
        }
    }

    /** Reads elements {@code [done, done + n)} of the segment into {@code raw} and, as doubles, {@code values}. */
    private static void decode(SourceReader sources, Segment s, long done, int n, MemorySegment raw, double[] values)
            throws IOException, FuseboxException {
        int size = s.sourceDtype.byteSize();
        ByteBuffer bytes = raw.asByteBuffer().limit(Math.multiplyExact(n, size));
        sources.read(s.source, Math.multiplyExact(s.from + done, size), bytes);
        for (int i = 0; i < n; i++) {
            values[i] = FloatCodec.get(raw, s.sourceDtype, i);
        }
    }

    /**
     * DoRA's factor per column of an embedding, {@code m / ‖(W + ΔW)[:, h]‖}: a first pass over the whole weight
     * (PEFT's DoraEmbeddingLayer takes the norm over the vocabulary, for each embedding dimension).
     */
    private static double[] columnScales(SourceReader sources, Segment s, Factors f, Buffers buf)
            throws IOException, FuseboxException {
        int in = f.rowLength();
        double[] sums = new double[in];
        byte[] raw = new byte[Math.multiplyExact(Math.max(in, CHUNK - CHUNK % in), Long.BYTES)];
        double[] values = new double[Math.max(in, CHUNK - CHUNK % in)];
        for (long done = 0; done < s.count; ) {
            int n = (int) Math.min(values.length, s.count - done);
            decode(sources, s, done, n, MemorySegment.ofArray(raw), values);
            f.apply(sources, s.changeFrom + done, n, values, buf.rows, null);
            for (int i = 0; i < n; i++) {
                sums[(int) ((s.changeFrom + done + i) % in)] += values[i] * values[i];
            }
            done += n;
        }
        double[] scales = new double[in];
        for (int h = 0; h < in; h++) {
            scales[h] = f.magnitude[h] / Math.sqrt(sums[h]);
        }
        return scales;
    }

    /**
     * Refuses a merged element that is NaN or infinite in the target dtype where the base's was finite: an alpha
     * such as 1e308 (or factors that large, or a DoRA row whose norm is zero) would otherwise write a model of NaN
     * with no word said.
     */
    private void checkFinite(Segment s, AdapterDeltas.Change c, long done, int n, MemorySegment base,
                             MemorySegment merged) throws FuseboxException {
        for (int i = 0; i < n; i++) {
            double m = FloatCodec.get(merged, dtype, i);
            if (!Double.isFinite(m)) {
                double b = FloatCodec.get(base, s.sourceDtype, i);
                if (Double.isFinite(b)) {
                    String scale = c instanceof AdapterDeltas.Delta d ? TargetLora.number(d.scale())
                            : TargetLora.number(((AdapterDeltas.BiasShift) c).scale());
                    throw new FuseboxException(Problem.INVALID_ADAPTER, null, s.source, "merging the adapter's "
                            + "change to " + c.module() + " (scale " + scale + ") makes its element "
                            + (s.changeFrom + done + i) + " " + (Double.isNaN(m) ? "NaN" : "infinite") + " in "
                            + dtype.name() + " (the base holds " + b + "), so the adapter's lora_alpha, factors or "
                            + "magnitudes are too large to merge");
                }
            }
        }
    }

    /** A segment's change with the factors it reads whole, read once per segment. */
    private record Factors(Optional<AdapterDeltas.Change> change, double[] a, double[] b, double[] magnitude,
                           double[] bias) {

        static Factors read(SourceReader sources, Optional<AdapterDeltas.Change> change, Scratch scratch)
                throws IOException, FuseboxException {
            if (change.isEmpty()) {
                return new Factors(change, null, null, null, null);
            }
            if (change.get() instanceof AdapterDeltas.BiasShift shift) {
                int n = Math.toIntExact(shift.bias().shape().elementCount());
                double[] bias = new double[n];
                new MatrixView(shift.bias(), 1, n, 0, n, 1).readRows(sources, 0, 1, bias, 0, scratch);
                return new Factors(change, null, null, null, bias);
            }
            AdapterDeltas.Delta d = (AdapterDeltas.Delta) change.get();
            int r = d.rank();
            double[] a = new double[Math.multiplyExact(r, Math.toIntExact(d.a().cols()))];
            d.a().readRows(sources, 0, r, a, 0, scratch);
            double[] b = null;
            if (d.embedding()) {
                b = new double[Math.multiplyExact(Math.toIntExact(d.b().rows()), r)];
                d.b().readRows(sources, 0, Math.toIntExact(d.b().rows()), b, 0, scratch);
            }
            double[] magnitude = null;
            if (d.magnitude().isPresent()) {
                magnitude = new double[Math.toIntExact(d.magnitude().get().cols())];
                d.magnitude().get().readRows(sources, 0, 1, magnitude, 0, scratch);
            }
            return new Factors(change, a, b, magnitude, null);
        }

        /** Elements per row of the tensor changed (1 for a bias or no change). */
        int rowLength() {
            return change.isPresent() && change.get() instanceof AdapterDeltas.Delta d ? Math.toIntExact(d.in()) : 1;
        }

        boolean columnDora() {
            return magnitude != null && ((AdapterDeltas.Delta) change.orElseThrow()).embedding();
        }

        /**
         * Applies the change to elements {@code [first, first + n)} of the tensor, in {@code values}; with
         * {@code columnScales} (an embedding's DoRA) null, an embedding gets its LoRA only.
         */
        void apply(SourceReader sources, long first, int n, double[] values, Scratch scratch, double[] columnScales)
                throws IOException, FuseboxException {
            if (change.isEmpty()) {
                return;
            }
            if (change.get() instanceof AdapterDeltas.BiasShift shift) {
                for (int i = 0; i < n; i++) {
                    values[i] += shift.scale() * bias[Math.toIntExact(first + i)];
                }
                return;
            }
            AdapterDeltas.Delta d = (AdapterDeltas.Delta) change.get();
            if (d.embedding()) {
                addEmbeddingDelta(d, first, n, values);
                if (columnScales != null) {
                    int in = columnScales.length;
                    for (int i = 0; i < n; i++) {
                        values[i] *= columnScales[(int) ((first + i) % in)];
                    }
                }
                return;
            }
            addDelta(sources, d, first, n, values, scratch);
            if (magnitude != null) {
                scaleRows(d, first, n, values);
            }
        }

        /** Adds {@code scale · (B @ A)} at weight elements {@code [first, first + n)} to {@code values}. */
        private void addDelta(SourceReader sources, AdapterDeltas.Delta d, long first, int n, double[] values,
                              Scratch scratch) throws IOException, FuseboxException {
            int in = Math.toIntExact(d.in());
            int r = d.rank();
            long row0 = first / in;
            int rows = (int) ((first + n - 1) / in + 1 - row0);
            double[] rowsOfB = scratch.doubles(rows * r);
            d.b().readRows(sources, row0, rows, rowsOfB, 0, scratch);
            double[] product = new double[Math.min(in, n)];
            for (int i = 0; i < n; ) {
                long e = first + i;
                int row = (int) (e / in - row0);
                int col = (int) (e % in);
                int len = Math.min(in - col, n - i);
                java.util.Arrays.fill(product, 0, len, 0.0);
                for (int k = 0; k < r; k++) {
                    double bk = rowsOfB[row * r + k];
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

        /**
         * Adds PEFT's embedding delta {@code scale · (B @ A)ᵀ} at elements {@code [first, first + n)} of the
         * [V, H] weight: element (v, h) gets {@code scale · Σ_k A[k, v] · B[h, k]}.
         */
        private void addEmbeddingDelta(AdapterDeltas.Delta d, long first, int n, double[] values) {
            int h = Math.toIntExact(d.in());
            int vocabulary = Math.toIntExact(d.out());
            int r = d.rank();
            for (int i = 0; i < n; i++) {
                long e = first + i;
                int v = (int) (e / h);
                int col = (int) (e % h);
                double sum = 0;
                for (int k = 0; k < r; k++) {
                    sum += a[k * vocabulary + v] * b[col * r + k];
                }
                values[i] += d.scale() * sum;
            }
        }

        /**
         * DoRA on whole rows {@code first / in …} (the planner gives a DoRA change whole rows): each row of
         * W + ΔW times {@code m[row] / ‖row‖}, as PEFT's DoraLinearVariant merges it.
         */
        private void scaleRows(AdapterDeltas.Delta d, long first, int n, double[] values) {
            int in = Math.toIntExact(d.in());
            for (int start = 0; start < n; start += in) {
                double sum = 0;
                for (int j = 0; j < in; j++) {
                    sum += values[start + j] * values[start + j];
                }
                double factor = magnitude[Math.toIntExact((first + start) / in)] / Math.sqrt(sum);
                for (int j = 0; j < in; j++) {
                    values[start + j] *= factor;
                }
            }
        }
    }
}
