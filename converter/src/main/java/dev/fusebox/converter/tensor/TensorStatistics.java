package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;

import java.util.Arrays;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * What the values of one float tensor look like: min, max, mean and standard deviation over the finite values, a
 * histogram, and a heat map of one 2-D slice. Computed by streaming the mapped bytes in chunks (two passes: moments,
 * then the histogram between min and max), so memory stays small whatever the tensor's size.
 *
 * @param count      elements in the tensor
 * @param nanCount   elements that are NaN
 * @param infCount   elements that are ±infinity
 * @param min        smallest finite value (NaN when there is none)
 * @param max        largest finite value (NaN when there is none)
 * @param mean       mean of the finite values
 * @param std        standard deviation of the finite values with Bessel's correction, as {@code torch.std()}
 * @param histogram  counts of the finite values in equal bins between min and max
 * @param heatMap    the chosen 2-D slice, averaged down to at most {@link Settings#heatMapCells} cells a side
 */
public record TensorStatistics(long count, long nanCount, long infCount, double min, double max, double mean,
                               double std, Histogram histogram, HeatMap heatMap) {

    private static final int CHUNK = 1 << 16;

    /** How fine the histogram and the heat map are. */
    public record Settings(int bins, int heatMapCells) {

        public static final Settings DEFAULT = new Settings(64, 128);

        public Settings {
            if (bins < 1 || heatMapCells < 1) {
                throw new IllegalArgumentException("bins and heat map cells must be positive");
            }
        }
    }

    /** Counts of values in {@code counts.length} equal bins over [low, high]; the last bin includes high. */
    public record Histogram(double low, double high, long[] counts) {

        public Histogram {
            counts = counts.clone();
        }

        @Override
        public long[] counts() {
            return counts.clone();
        }

        public int bins() {
            return counts.length;
        }

        public long peak() {
            return Arrays.stream(counts).max().orElse(0);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Histogram h && low == h.low && high == h.high && Arrays.equals(counts, h.counts);
        }

        @Override
        public int hashCode() {
            return Objects.hash(low, high, Arrays.hashCode(counts));
        }
    }

    /**
     * A 2-D slice of the tensor, each cell the mean of a block of {@code blockRows × blockCols} elements (NaN and
     * infinities left out; a cell with no finite value is NaN).
     *
     * @param slice      which slice, as an index expression such as {@code [1, :, :]}
     * @param sourceRows rows of the slice in the tensor
     * @param sourceCols columns of the slice in the tensor
     * @param values     {@code rows × cols} cell values, row-major
     */
    public record HeatMap(String slice, long sourceRows, long sourceCols, int rows, int cols, float[] values) {

        public HeatMap {
            values = values.clone();
            if (values.length != Math.multiplyExact(rows, cols)) {
                throw new IllegalArgumentException("a heat map of " + rows + "×" + cols + " needs that many values");
            }
        }

        @Override
        public float[] values() {
            return values.clone();
        }

        public float value(int row, int col) {
            return values[row * cols + col];
        }

        /** The largest absolute cell value (0 when every cell is NaN), for a colour scale symmetric around 0. */
        public double maxAbs() {
            double m = 0;
            for (float v : values) {
                if (!Float.isNaN(v)) {
                    m = Math.max(m, Math.abs(v));
                }
            }
            return m;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof HeatMap h && slice.equals(h.slice) && sourceRows == h.sourceRows
                    && sourceCols == h.sourceCols && rows == h.rows && cols == h.cols && Arrays.equals(values, h.values);
        }

        @Override
        public int hashCode() {
            return Objects.hash(slice, sourceRows, sourceCols, rows, cols, Arrays.hashCode(values));
        }
    }

    /**
     * The statistics of a tensor whose bytes {@code data} reads, one chunk at a time.
     *
     * @param leading the indices of the dimensions before the last two that pick the heat map's slice (empty for
     *                rank 2 or less; missing ones count as 0)
     */
    public static TensorStatistics compute(ByteRanges data, Dtype dtype, Shape shape, long[] leading,
                                           Settings settings, ProgressListener progress, Cancellation cancel)
            throws FuseboxException {
        return compute(decoded(data, dtype), dtype.byteSize(), shape, Slice.of(shape, leading), settings, progress,
                cancel);
    }

    /**
     * The statistics with a heat map of the whole tensor, its dimensions before the last stacked as rows (for a
     * fused {@code gate_up_proj [E, 2I, H]}, every expert one above the other: {@code E·2I × H}).
     */
    public static TensorStatistics computeWhole(ByteRanges data, Dtype dtype, Shape shape, Settings settings,
                                                ProgressListener progress, Cancellation cancel)
            throws FuseboxException {
        return compute(decoded(data, dtype), dtype.byteSize(), shape, Slice.whole(shape), settings, progress, cancel);
    }

    /**
     * The statistics of values read from elsewhere than one tensor's bytes (an FP8 weight dequantized with its
     * scales), progress counted as {@code elementBytes} read per element.
     *
     * @param whole the heat map of the whole tensor (as {@link #computeWhole}) instead of the slice {@code leading}
     */
    public static TensorStatistics compute(FloatValues values, int elementBytes, Shape shape, long[] leading,
                                           boolean whole, Settings settings, ProgressListener progress,
                                           Cancellation cancel) throws FuseboxException {
        return compute(values, elementBytes, shape, whole ? Slice.whole(shape) : Slice.of(shape, leading), settings,
                progress, cancel);
    }

    private static FloatValues decoded(ByteRanges data, Dtype dtype) throws FuseboxException {
        if (!dtype.decodable()) {
            throw new FuseboxException(Problem.UNSUPPORTED, null,
                    dtype.torchName() + " tensors have no float statistics in Fusebox");
        }
        return FloatValues.decoded(data, dtype);
    }

    private static TensorStatistics compute(FloatValues data, int elementBytes, Shape shape, Slice slice,
                                            Settings settings, ProgressListener progress, Cancellation cancel)
            throws FuseboxException {
        long count = shape.elementCount();
        long bytes = Math.multiplyExact(count, elementBytes);
        long total = Math.addExact(Math.multiplyExact(bytes, 2), Math.multiplyExact(slice.elements(), elementBytes));
        Meter meter = new Meter(total, elementBytes, progress, cancel);

        Moments m = moments(data, count, meter);
        Histogram histogram = histogram(data, count, m, settings.bins(), meter);
        HeatMap heatMap = heatMap(data, slice, settings.heatMapCells(), meter);
        double min = m.finite == 0 ? Double.NaN : m.min;
        double max = m.finite == 0 ? Double.NaN : m.max;
        double mean = m.finite == 0 ? Double.NaN : m.mean;
        double std = m.finite < 2 ? Double.NaN : Math.sqrt(m.m2 / (m.finite - 1));
        return new TensorStatistics(count, m.nan, m.inf, min, max, mean, std, histogram, heatMap);
    }

    private static Moments moments(FloatValues data, long count, Meter meter) throws FuseboxException {
        Moments total = new Moments();
        float[] buf = new float[(int) Math.min(CHUNK, Math.max(count, 1))];
        for (long at = 0; at < count; at += CHUNK) {
            int n = (int) Math.min(CHUNK, count - at);
            data.read(at, buf, n);
            Moments chunk = new Moments();
            for (int i = 0; i < n; i++) {
                chunk.add(buf[i]);
            }
            total.merge(chunk);
            meter.advance(n);
        }
        return total;
    }

    private static Histogram histogram(FloatValues data, long count, Moments m, int bins, Meter meter)
            throws FuseboxException {
        long[] counts = new long[bins];
        if (m.finite == 0) {
            meter.advance(count);
            return new Histogram(Double.NaN, Double.NaN, counts);
        }
        double width = (m.max - m.min) / bins;
        float[] buf = new float[(int) Math.min(CHUNK, count)];
        for (long at = 0; at < count; at += CHUNK) {
            int n = (int) Math.min(CHUNK, count - at);
            data.read(at, buf, n);
            for (int i = 0; i < n; i++) {
                float v = buf[i];
                if (Float.isFinite(v)) {
                    int bin = width == 0 ? 0 : (int) ((v - m.min) / width);
                    counts[Math.min(Math.max(bin, 0), bins - 1)]++;
                }
            }
            meter.advance(n);
        }
        return new Histogram(m.min, m.max, counts);
    }

    private static HeatMap heatMap(FloatValues data, Slice slice, int maxCells, Meter meter)
            throws FuseboxException {
        int rows = (int) Math.min(maxCells, Math.max(slice.rows(), 1));
        int cols = (int) Math.min(maxCells, Math.max(slice.cols(), 1));
        double[] sums = new double[rows * cols];
        long[] counts = new long[rows * cols];
        float[] buf = new float[(int) Math.min(CHUNK, Math.max(slice.cols(), 1))];
        for (long r = 0; r < slice.rows(); r++) {
            int cellRow = (int) (r * rows / slice.rows());
            long rowStart = Math.addExact(slice.start(), Math.multiplyExact(r, slice.cols()));
            for (long c0 = 0; c0 < slice.cols(); c0 += buf.length) {
                int n = (int) Math.min(buf.length, slice.cols() - c0);
                data.read(rowStart + c0, buf, n);
                for (int i = 0; i < n; i++) {
                    float v = buf[i];
                    if (Float.isFinite(v)) {
                        int cell = cellRow * cols + (int) ((c0 + i) * cols / slice.cols());
                        sums[cell] += v;
                        counts[cell]++;
                    }
                }
                meter.advance(n);
            }
        }
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = counts[i] == 0 ? Float.NaN : (float) (sums[i] / counts[i]);
        }
        return new HeatMap(slice.describe(), slice.rows(), slice.cols(), rows, cols, values);
    }

    /** The 2-D slice a heat map shows: the last two dimensions at fixed leading indices. */
    private record Slice(long start, long rows, long cols, String describe) {

        static Slice of(Shape shape, long[] leading) {
            int rank = shape.rank();
            if (rank == 0) {
                return new Slice(0, 1, 1, "[]");
            }
            if (rank == 1) {
                return new Slice(0, 1, shape.dim(0), "[:]");
            }
            long start = 0;
            long stride = Math.multiplyExact(shape.dim(rank - 2), shape.dim(rank - 1));
            StringJoiner text = new StringJoiner(", ", "[", "]");
            long[] index = new long[rank - 2];
            for (int axis = rank - 3; axis >= 0; axis--) {
                index[axis] = axis < leading.length ? leading[axis] : 0;
                if (index[axis] < 0 || index[axis] >= shape.dim(axis)) {
                    throw new IllegalArgumentException("index " + index[axis] + " is outside dimension " + axis
                            + " of " + shape);
                }
                start = Math.addExact(start, Math.multiplyExact(index[axis], stride));
                stride = Math.multiplyExact(stride, shape.dim(axis));
            }
            for (long i : index) {
                text.add(Long.toString(i));
            }
            text.add(":").add(":");
            return new Slice(start, shape.dim(rank - 2), shape.dim(rank - 1), text.toString());
        }

        /** Every element, the dimensions before the last as rows: {@code [:, :, :]}. */
        static Slice whole(Shape shape) {
            int rank = shape.rank();
            if (rank < 3) {
                return of(shape, new long[0]);
            }
            long cols = shape.dim(rank - 1);
            long rows = cols == 0 ? 0 : shape.elementCount() / cols;
            StringJoiner text = new StringJoiner(", ", "[", "]");
            for (int i = 0; i < rank; i++) {
                text.add(":");
            }
            return new Slice(0, rows, cols, text.toString());
        }

        long elements() {
            return Math.multiplyExact(rows, cols);
        }
    }

    /** Mean and sum of squared deviations of the finite values (Welford per chunk, Chan et al. across chunks). */
    private static final class Moments {
        long finite;
        long nan;
        long inf;
        double mean;
        double m2;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;

        void add(float v) {
            if (Float.isNaN(v)) {
                nan++;
                return;
            }
            if (Float.isInfinite(v)) {
                inf++;
                return;
            }
            finite++;
            double d = v - mean;
            mean += d / finite;
            m2 += d * (v - mean);
            min = Math.min(min, v);
            max = Math.max(max, v);
        }

        void merge(Moments o) {
            nan += o.nan;
            inf += o.inf;
            if (o.finite == 0) {
                return;
            }
            long n = finite + o.finite;
            double d = o.mean - mean;
            mean += d * o.finite / n;
            m2 += o.m2 + d * d * ((double) finite * o.finite / n);
            finite = n;
            min = Math.min(min, o.min);
            max = Math.max(max, o.max);
        }
    }

    /** Reports bytes read and asks about cancellation once per chunk. */
    private static final class Meter {
        private final long total;
        private final int elementBytes;
        private final ProgressListener listener;
        private final Cancellation cancel;
        private long done;

        Meter(long total, int elementBytes, ProgressListener listener, Cancellation cancel) {
            this.total = total;
            this.elementBytes = elementBytes;
            this.listener = listener;
            this.cancel = cancel;
        }

        void advance(long elements) throws FuseboxException {
            cancel.check();
            done = Math.addExact(done, Math.multiplyExact(elements, elementBytes));
            listener.onProgress(new Progress(done, total, 0, 0, "statistics"));
        }
    }
}
