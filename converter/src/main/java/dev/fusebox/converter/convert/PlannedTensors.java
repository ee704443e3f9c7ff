package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.Placement;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.TensorSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/**
 * A conversion read through its plan instead of written: a range of a target comes from the source tensors by the
 * placements the writer copies them with, so what a check reads is what {@code convert} writes, and only the
 * ranges asked for are read (one expert's slice of a fused tensor reads that expert's per-expert tensors). A
 * computed target (an adapter's rebuilt factors) is made whole by the writer's own code.
 */
public final class PlannedTensors implements TensorSource {

    /** Runs this many times the bytes asked for apart are read as one span and scattered in memory. */
    private static final int SPAN_FACTOR = 4;
    /** At most this many runs are read one call each; more are read as spans. */
    private static final int DIRECT_RUNS = 64;
    private static final long CHUNK = 1L << 30;

    private final ConversionPlan plan;
    private final SourceFiles files;
    private final LongAdder read = new LongAdder();

    /** {@code plan} must be a plan of {@code source} that reads no other input. */
    public PlannedTensors(Checkpoint source, ConversionPlan plan) {
        if (!plan.otherInputs().isEmpty()) {
            throw new IllegalArgumentException("a plan that reads other inputs (a merge) is not read through");
        }
        this.plan = plan;
        this.files = new SourceFiles(source);
    }

    public ConversionPlan plan() {
        return plan;
    }

    @Override
    public Path location() {
        return plan.source();
    }

    @Override
    public List<TensorSpec> specs() {
        return plan.targetSpecs();
    }

    @Override
    public Optional<TensorSpec> spec(String key) {
        return plan.target(key).map(PlannedTarget::spec);
    }

    @Override
    public void readInto(String key, long byteOffset, MemorySegment out) throws FuseboxException {
        PlannedTarget target = plan.target(key).orElseThrow(() -> new FuseboxException(Problem.SHAPE_MISMATCH,
                plan.source(), key, "is not in the conversion's plan"));
        if (byteOffset < 0 || byteOffset > target.byteSize() - out.byteSize()) {
            throw new IllegalArgumentException(key + ": " + out.byteSize() + " bytes at " + byteOffset
                    + " are outside its " + target.byteSize());
        }
        try {
            switch (target.recipe()) {
                case CopyRecipe c -> copy(target, c, byteOffset, out);
                case ComputedRecipe c -> compute(target, byteOffset, out);
            }
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, plan.source(), key,
                    "could not be read through the plan (" + IoReason.of(e) + ")", e);
        }
    }

    private void copy(PlannedTarget target, CopyRecipe recipe, long lo, MemorySegment out)
            throws IOException, FuseboxException {
        long hi = lo + out.byteSize();
        long filled = 0;
        for (Placement p : recipe.placements()) {
            Placement.Runs runs = p.runs(target.shape());
            if (runs.count() == 0) {
                continue;
            }
            StoredTensor source = files.tensor(p.source());
            FileChannel channel = files.channel(source);
            long base = source.fileOffset();
            long[] span = {Long.MAX_VALUE, Long.MIN_VALUE, 0, 0};
            visit(runs, lo, hi, (t, s, n) -> {
                span[0] = Math.min(span[0], s);
                span[1] = Math.max(span[1], s + n);
                span[2] += n;
                span[3]++;
            });
            if (span[3] == 0) {
                continue;
            }
            filled += span[2];
            long spanBytes = span[1] - span[0];
            if (span[3] <= DIRECT_RUNS || spanBytes > SPAN_FACTOR * Math.max(span[2], 1L << 20)) {
                visit(runs, lo, hi, (t, s, n) -> readInto(channel, out.asSlice(t - lo, n), base + s));
                read.add(span[2]);
            } else {
                MemorySegment buffer = spanBytes < Integer.MAX_VALUE - 8
                        ? MemorySegment.ofArray(new byte[(int) spanBytes]) : Arena.ofAuto().allocate(spanBytes, 16);
                readInto(channel, buffer, base + span[0]);
                read.add(spanBytes);
                visit(runs, lo, hi, (t, s, n) -> MemorySegment.copy(buffer, s - span[0], out, t - lo, n));
            }
        }
        if (filled != out.byteSize()) {
            throw new FuseboxException(Problem.INVALID_RULES, plan.source(), target.key(), "its placements cover "
                    + filled + " of the " + out.byteSize() + " bytes from byte " + lo);
        }
    }

    private void compute(PlannedTarget target, long lo, MemorySegment out) throws IOException, FuseboxException {
        MemorySegment whole = MemorySegment.ofArray(new byte[Math.toIntExact(target.byteSize())]);
        long[] at = {0};
        ByteSink sink = bytes -> {
            int n = bytes.remaining();
            MemorySegment.copy(MemorySegment.ofBuffer(bytes), 0, whole, at[0], n);
            bytes.position(bytes.limit());
            at[0] += n;
        };
        new TargetBytes(files, Cancellation.NEVER, read::add).write(target, sink);
        MemorySegment.copy(whole, lo, out, 0, out.byteSize());
    }

    /** A run's part inside the range asked for: target and source offsets from their tensors' first bytes. */
    @FunctionalInterface
    interface RunVisitor {
        void run(long target, long source, long length) throws IOException;
    }

    /** Visits the parts of {@code runs} inside target bytes [lo, hi), skipping whole subtrees outside it. */
    static void visit(Placement.Runs runs, long lo, long hi, RunVisitor visitor) throws IOException {
        long[] counts = runs.counts();
        long[] tail = new long[counts.length + 1];
        tail[counts.length] = runs.runBytes();
        for (int k = counts.length - 1; k >= 0; k--) {
            tail[k] = Math.addExact(tail[k + 1], Math.multiplyExact(counts[k] - 1, runs.targetStrides()[k]));
        }
        walk(runs, tail, 0, runs.targetBase(), runs.sourceBase(), lo, hi, visitor);
    }

    private static void walk(Placement.Runs runs, long[] tail, int k, long target, long source, long lo, long hi,
                             RunVisitor visitor) throws IOException {
        long[] counts = runs.counts();
        if (k == counts.length) {
            long s = Math.max(target, lo);
            long e = Math.min(target + runs.runBytes(), hi);
            if (s < e) {
                visitor.run(s, source + (s - target), e - s);
            }
            return;
        }
        long stride = runs.targetStrides()[k];
        long first = Math.max(0, Math.floorDiv(lo - target - tail[k + 1], stride) + 1);
        long last = Math.min(counts[k] - 1, Math.ceilDiv(hi - target, stride) - 1);
        for (long i = first; i <= last; i++) {
            walk(runs, tail, k + 1, target + i * stride, source + i * runs.sourceStrides()[k], lo, hi, visitor);
        }
    }

    private static void readInto(FileChannel channel, MemorySegment dst, long position) throws IOException {
        for (long done = 0; done < dst.byteSize(); done += CHUNK) {
            ByteBuffer b = dst.asSlice(done, Math.min(CHUNK, dst.byteSize() - done)).asByteBuffer();
            SourceFiles.readFully(channel, b, position + done);
        }
    }

    @Override
    public long bytesRead() {
        return read.sum();
    }

    @Override
    public void close() {
        files.close();
    }
}
