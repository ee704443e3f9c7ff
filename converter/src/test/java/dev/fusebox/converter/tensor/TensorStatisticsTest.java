package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class TensorStatisticsTest {

    private static final TensorStatistics.Settings FINE = new TensorStatistics.Settings(4, 2);

    @Test
    void momentsLeaveNanAndInfinityOutAndCountThem() throws FuseboxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = f32(arena, 1, 2, 3, 4, Float.NaN, Float.POSITIVE_INFINITY);
            TensorStatistics st = TensorStatistics.compute(ByteRanges.of(s), Dtype.F32, Shape.of(6), new long[0], FINE,
                    ProgressListener.NONE, Cancellation.NEVER);
            assertThat(st.count()).isEqualTo(6);
            assertThat(st.nanCount()).isEqualTo(1);
            assertThat(st.infCount()).isEqualTo(1);
            assertThat(st.min()).isEqualTo(1.0);
            assertThat(st.max()).isEqualTo(4.0);
            assertThat(st.mean()).isEqualTo(2.5);
            // torch.tensor([1., 2., 3., 4.]).std() = sqrt(5/3)
            assertThat(st.std()).isCloseTo(Math.sqrt(5.0 / 3.0), within(1e-12));
            assertThat(st.histogram().counts()).containsExactly(1, 1, 1, 1);
        }
    }

    @Test
    void theHeatMapAveragesBlocksOfTheChosenSlice() throws FuseboxException {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = new float[2 * 4 * 4];
            for (int i = 0; i < values.length; i++) {
                values[i] = i;
            }
            MemorySegment s = f32(arena, values);
            TensorStatistics st = TensorStatistics.compute(ByteRanges.of(s), Dtype.F32, Shape.of(2, 4, 4), new long[] {1}, FINE,
                    ProgressListener.NONE, Cancellation.NEVER);
            TensorStatistics.HeatMap map = st.heatMap();
            assertThat(map.slice()).isEqualTo("[1, :, :]");
            assertThat(map.rows()).isEqualTo(2);
            assertThat(map.cols()).isEqualTo(2);
            // Slice 1 holds 16..31; the top-left 2×2 block is 16, 17, 20, 21.
            assertThat(map.value(0, 0)).isEqualTo((16 + 17 + 20 + 21) / 4f);
            assertThat(map.value(1, 1)).isEqualTo((26 + 27 + 30 + 31) / 4f);
            assertThat(map.maxAbs()).isEqualTo(28.5);
        }
    }

    @Test
    void theWholeTensorsHeatMapStacksEverySliceAsRows() throws FuseboxException {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = new float[2 * 4 * 4];
            for (int i = 0; i < values.length; i++) {
                values[i] = i;
            }
            MemorySegment s = f32(arena, values);
            TensorStatistics st = TensorStatistics.computeWhole(ByteRanges.of(s), Dtype.F32, Shape.of(2, 4, 4),
                    new TensorStatistics.Settings(4, 4), ProgressListener.NONE, Cancellation.NEVER);
            TensorStatistics.HeatMap map = st.heatMap();
            assertThat(map.slice()).isEqualTo("[:, :, :]");
            assertThat(map.sourceRows()).isEqualTo(8);
            assertThat(map.sourceCols()).isEqualTo(4);
            assertThat(map.rows()).isEqualTo(4);
            // Rows 0-1 of slice 0 average columns 0-3 over 0..7 in pairs: (0 + 4) / 2; rows 0-1 of slice 1 start at 16.
            assertThat(map.value(0, 0)).isEqualTo(2f);
            assertThat(map.value(2, 0)).isEqualTo(18f);
            assertThat(map.value(3, 3)).isEqualTo((27f + 31f) / 2);
            assertThat(st.count()).isEqualTo(32);
        }
    }

    @Test
    void aFixtureTensorMatchesAPlainTwoPassComputation() throws FuseboxException {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            StoredTensor t = c.tensor("model.layers.1.block_sparse_moe.experts.2.w2.weight").orElseThrow();
            TensorStatistics st = TensorStatistics.compute(t::data, t.dtype(), t.shape(), new long[0],
                    TensorStatistics.Settings.DEFAULT, ProgressListener.NONE, Cancellation.NEVER);
            long n = t.shape().elementCount();
            double sum = 0;
            double min = Double.MAX_VALUE;
            double max = -Double.MAX_VALUE;
            for (long i = 0; i < n; i++) {
                double v = FloatCodec.get(t.data(), t.dtype(), i);
                sum += v;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            double mean = sum / n;
            double squares = 0;
            for (long i = 0; i < n; i++) {
                double d = FloatCodec.get(t.data(), t.dtype(), i) - mean;
                squares += d * d;
            }
            assertThat(st.mean()).isCloseTo(mean, within(1e-12));
            assertThat(st.std()).isCloseTo(Math.sqrt(squares / (n - 1)), within(1e-12));
            assertThat(st.min()).isEqualTo(min);
            assertThat(st.max()).isEqualTo(max);
            assertThat(java.util.Arrays.stream(st.histogram().counts()).sum()).isEqualTo(n);
            assertThat(st.heatMap().sourceRows()).isEqualTo(64);
            assertThat(st.heatMap().sourceCols()).isEqualTo(96);
        }
    }

    @Test
    void progressCountsEveryByteReadAndEndsAtTheTotal() throws FuseboxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(3L * 100_000 * 2);
            List<Progress> seen = new ArrayList<>();
            TensorStatistics.compute(ByteRanges.of(s), Dtype.BF16, Shape.of(3, 100_000), new long[0], FINE, seen::add,
                    Cancellation.NEVER);
            Progress last = seen.getLast();
            assertThat(last.bytesDone()).isEqualTo(last.bytesTotal()).isEqualTo(3L * 3 * 100_000 * 2);
            assertThat(seen).extracting(Progress::bytesDone).isSorted();
        }
    }

    @Test
    void cancellingStopsTheWorkWithACancelledProblem() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(4L * 300_000);
            List<Progress> seen = new ArrayList<>();
            assertThatThrownBy(() -> TensorStatistics.compute(ByteRanges.of(s), Dtype.F32, Shape.of(300_000), new long[0], FINE,
                    seen::add, () -> !seen.isEmpty()))
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.CANCELLED));
            assertThat(seen).hasSize(1);
        }
    }

    @Test
    void integerTensorsAreRefusedWithAReason() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(8);
            assertThatThrownBy(() -> TensorStatistics.compute(ByteRanges.of(s), Dtype.I64, Shape.of(1), new long[0], FINE,
                    ProgressListener.NONE, Cancellation.NEVER))
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED))
                    .hasMessageContaining("int64");
        }
    }

    private static MemorySegment f32(Arena arena, float... values) {
        MemorySegment s = arena.allocate(4L * values.length);
        for (int i = 0; i < values.length; i++) {
            FloatCodec.set(s, Dtype.F32, i, values[i]);
        }
        return s;
    }
}
