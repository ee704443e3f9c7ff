package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.Placement;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.plan.SourceReader;
import dev.fusebox.converter.plan.TargetSink;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.tensor.TensorSpec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Produces a planned target's bytes, in order, into a sink, with memory bounded by two fixed buffers whatever the
 * tensor's size. A copy whose placements are whole byte ranges (stack, concat, chunk, unstack, identity) goes
 * range by range through {@link ByteSink#transfer}, which a file lets the kernel do. Any other copy (transpose,
 * interleave) is gathered window by window: the runs a window needs are read in source order, neighbouring ones
 * together, and scattered into the window. A computed target writes through a sink that counts its bytes.
 */
final class TargetBytes {

    /** Bytes moved per step between cancellation checks and progress reports. */
    static final int STEP = 64 << 20;
    static final int WINDOW = 8 << 20;
    static final int SCRATCH = 4 << 20;
    private static final int BATCH_BITS = 18;
    private static final int MAX_BATCH = 1 << BATCH_BITS;
    /** Runs this close in a source are read together; farther apart, reading the gap would cost more than a call. */
    private static final int GAP = 4 << 10;

    private final SourceFiles sources;
    private final Cancellation cancellation;
    private final LongConsumer progress;
    private ByteBuffer window;
    private ByteBuffer scratch;

    TargetBytes(SourceFiles sources, Cancellation cancellation, LongConsumer progress) {
        this.sources = sources;
        this.cancellation = cancellation;
        this.progress = progress;
    }

    void write(PlannedTarget target, ByteSink sink) throws IOException, FuseboxException {
        switch (target.recipe()) {
            case CopyRecipe c -> copy(target, c, sink);
            case ComputedRecipe c -> compute(target, c, sink);
        }
    }

    private void copy(PlannedTarget target, CopyRecipe recipe, ByteSink sink) throws IOException, FuseboxException {
        List<Source> parts = new ArrayList<>();
        long total = 0;
        for (Placement p : recipe.placements()) {
            StoredTensor t = sources.tensor(p.source());
            Placement.Runs runs = p.runs(target.shape());
            parts.add(new Source(t, sources.channel(t), runs));
            total = Math.addExact(total, Math.multiplyExact(runs.count(), runs.runBytes()));
        }
        if (total != target.byteSize()) {
            throw new FuseboxException(Problem.INVALID_RULES, null, target.key(), "its placements cover " + total
                    + " bytes of its " + target.byteSize());
        }
        if (recipe.byteRanges(target.shape())) {
            copyRanges(target, parts, sink);
        } else {
            gather(target, parts, sink);
        }
    }

    private void copyRanges(PlannedTarget target, List<Source> parts, ByteSink sink)
            throws IOException, FuseboxException {
        parts.sort(Comparator.comparingLong(s -> s.runs.targetBase()));
        long next = 0;
        for (Source s : parts) {
            if (s.runs.targetBase() != next) {
                throw new FuseboxException(Problem.INVALID_RULES, null, target.key(),
                        "its placements leave a hole or overlap at byte " + next);
            }
            long from = s.tensor.fileOffset() + s.runs.sourceBase();
            long length = s.runs.runBytes();
            for (long done = 0; done < length; ) {
                cancellation.check();
                long n = Math.min(STEP, length - done);
                sink.transfer(s.channel, from + done, n, scratch());
                done += n;
                progress.accept(n);
            }
            next += length;
        }
    }

    /** One source placement being read: its file and its runs. */
    private record Source(StoredTensor tensor, FileChannel channel, Placement.Runs runs) {
    }

    /** Walks one placement's runs in target order, possibly a part of a run at a time. */
    private static final class Cursor {
        final Source source;
        final int id;
        final long[] index;
        long runsLeft;
        long target;
        long sourceOffset;
        long length;

        Cursor(Source source, int id) {
            this.source = source;
            this.id = id;
            this.index = new long[source.runs.counts().length];
            this.runsLeft = source.runs.count();
            load();
        }

        boolean hasRun() {
            return length > 0;
        }

        /** Takes up to {@code max} bytes of the current run. */
        void consume(long n) {
            target += n;
            sourceOffset += n;
            length -= n;
            if (length == 0) {
                next();
            }
        }

        private void next() {
            runsLeft--;
            if (runsLeft <= 0) {
                return;
            }
            long[] counts = source.runs.counts();
            for (int k = counts.length - 1; k >= 0; k--) {
                if (++index[k] < counts[k]) {
                    break;
                }
                index[k] = 0;
            }
            load();
        }

        private void load() {
            if (runsLeft <= 0) {
                length = 0;
                return;
            }
            Placement.Runs r = source.runs;
            long t = r.targetBase();
            long s = r.sourceBase();
            for (int k = 0; k < index.length; k++) {
                t += index[k] * r.targetStrides()[k];
                s += index[k] * r.sourceStrides()[k];
            }
            target = t;
            sourceOffset = source.tensor.fileOffset() + s;
            length = r.runBytes();
        }
    }

    private void gather(PlannedTarget target, List<Source> parts, ByteSink sink) throws IOException, FuseboxException {
        List<Cursor> cursors = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            cursors.add(new Cursor(parts.get(i), i));
        }
        ByteBuffer win = window();
        Batch batch = new Batch();
        long size = target.byteSize();
        for (long w0 = 0; w0 < size; w0 += win.capacity()) {
            cancellation.check();
            long w1 = Math.min(size, w0 + win.capacity());
            win.clear();
            long covered = 0;
            for (Cursor c : cursors) {
                while (c.hasRun() && c.target < w1) {
                    if (c.target < w0) {
                        throw new FuseboxException(Problem.INVALID_RULES, null, target.key(),
                                "its placements overlap at byte " + c.target);
                    }
                    int n = (int) Math.min(c.length, w1 - c.target);
                    batch.add(c.id, c.sourceOffset, (int) (c.target - w0), n);
                    covered += n;
                    c.consume(n);
                    if (batch.size == MAX_BATCH) {
                        batch.fill(cursors, win);
                    }
                }
            }
            batch.fill(cursors, win);
            if (covered != w1 - w0) {
                throw new FuseboxException(Problem.INVALID_RULES, null, target.key(), "its placements cover "
                        + covered + " of the " + (w1 - w0) + " bytes from byte " + w0);
            }
            win.position(0).limit((int) (w1 - w0));
            sink.write(win);
            progress.accept(w1 - w0);
        }
    }

    /** Runs of one window: read in source order, neighbours together, and scattered into the window. */
    private final class Batch {
        final int[] source = new int[MAX_BATCH];
        final long[] from = new long[MAX_BATCH];
        final int[] to = new int[MAX_BATCH];
        final int[] length = new int[MAX_BATCH];
        int size;

        void add(int sourceId, long sourceOffset, int windowOffset, int n) {
            source[size] = sourceId;
            from[size] = sourceOffset;
            to[size] = windowOffset;
            length[size] = n;
            size++;
        }

        void fill(List<Cursor> cursors, ByteBuffer win) throws IOException {
            if (size == 0) {
                return;
            }
            int[] order = sourceOrder(cursors.size());
            ByteBuffer buf = scratch();
            int i = 0;
            while (i < size) {
                int first = order[i];
                FileChannel ch = cursors.get(source[first]).source.channel;
                if (length[first] >= buf.capacity()) {
                    SourceFiles.readFully(ch, win.duplicate().position(to[first]).limit(to[first] + length[first]),
                            from[first]);
                    i++;
                    continue;
                }
                long spanStart = from[first];
                long spanEnd = spanStart + length[first];
                int j = i + 1;
                while (j < size) {
                    int r = order[j];
                    long end = Math.max(spanEnd, from[r] + length[r]);
                    if (source[r] != source[first] || from[r] - spanEnd > GAP || end - spanStart > buf.capacity()) {
                        break;
                    }
                    spanEnd = end;
                    j++;
                }
                buf.clear().limit((int) (spanEnd - spanStart));
                SourceFiles.readFully(ch, buf, spanStart);
                for (int k = i; k < j; k++) {
                    int r = order[k];
                    win.put(to[r], buf, (int) (from[r] - spanStart), length[r]);
                }
                i = j;
            }
            size = 0;
        }

        /** The runs' indices ordered by source, then by offset in the source file. */
        private int[] sourceOrder(int sources) {
            int[] start = new int[sources + 1];
            for (int i = 0; i < size; i++) {
                start[source[i] + 1]++;
            }
            for (int s = 0; s < sources; s++) {
                start[s + 1] += start[s];
            }
            long[] keys = new long[size];
            int[] fill = start.clone();
            for (int i = 0; i < size; i++) {
                // file offsets below 2^45 (32 TiB) leave BATCH_BITS for the run's index
                keys[fill[source[i]]++] = from[i] << BATCH_BITS | i;
            }
            int[] order = new int[size];
            for (int s = 0; s < sources; s++) {
                Arrays.sort(keys, start[s], start[s + 1]);
            }
            for (int k = 0; k < size; k++) {
                order[k] = (int) (keys[k] & (MAX_BATCH - 1));
            }
            return order;
        }
    }

    private void compute(PlannedTarget target, ComputedRecipe recipe, ByteSink sink)
            throws IOException, FuseboxException {
        CountingSink counting = new CountingSink(target, sink);
        recipe.computation().write(new Reader(recipe), counting);
        if (counting.remaining != 0) {
            throw new FuseboxException(Problem.INVALID_RULES, null, target.key(), "its computation wrote "
                    + (target.byteSize() - counting.remaining) + " of its " + target.byteSize() + " bytes");
        }
    }

    /** Source access for a computation, limited to the sources its recipe names. */
    private final class Reader implements SourceReader {
        private final ComputedRecipe recipe;

        Reader(ComputedRecipe recipe) {
            this.recipe = recipe;
        }

        @Override
        public TensorSpec spec(String key) throws FuseboxException {
            return named(key);
        }

        @Override
        public void read(String key, long offset, ByteBuffer dst) throws IOException, FuseboxException {
            StoredTensor t = sources.tensor(named(key));
            if (offset < 0 || offset + dst.remaining() > t.byteSize()) {
                throw new IOException(key + ": read of " + dst.remaining() + " bytes at " + offset
                        + " is outside its " + t.byteSize() + " bytes");
            }
            SourceFiles.readFully(sources.channel(t), dst, t.fileOffset() + offset);
        }

        private TensorSpec named(String key) throws FuseboxException {
            for (TensorSpec s : recipe.sources()) {
                if (s.key().equals(key)) {
                    return s;
                }
            }
            throw new FuseboxException(Problem.INVALID_RULES, null, key,
                    "a computation read it, but its recipe does not name it as a source");
        }
    }

    /** Passes a computation's bytes on, refusing more than the target holds. */
    private final class CountingSink implements TargetSink {
        private final PlannedTarget target;
        private final ByteSink sink;
        private long remaining;

        CountingSink(PlannedTarget target, ByteSink sink) {
            this.target = target;
            this.sink = sink;
            this.remaining = target.byteSize();
        }

        @Override
        public void write(ByteBuffer bytes) throws IOException, FuseboxException {
            cancellation.check();
            int n = bytes.remaining();
            if (n > remaining) {
                throw new FuseboxException(Problem.INVALID_RULES, null, target.key(), "its computation wrote more "
                        + "than its " + target.byteSize() + " bytes");
            }
            sink.write(bytes);
            remaining -= n;
            progress.accept(n);
        }

        @Override
        public long remaining() {
            return remaining;
        }
    }

    private ByteBuffer window() {
        if (window == null) {
            window = ByteBuffer.allocateDirect(WINDOW);
        }
        return window;
    }

    private ByteBuffer scratch() {
        if (scratch == null) {
            scratch = ByteBuffer.allocateDirect(SCRATCH);
        }
        return scratch;
    }
}
