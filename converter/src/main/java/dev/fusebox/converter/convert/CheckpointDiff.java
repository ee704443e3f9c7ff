package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.lora.AdapterPlanner;
import dev.fusebox.converter.plan.Assembly;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.Placement;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.TensorSpec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * Compares two checkpoints as layouts, aware of the legacy ↔ v5 mapping: when two models, or two LoRA adapters,
 * are in different layouts, B is read in A's layout through the plan that would convert it, so a legacy checkpoint
 * and its faithful v5 conversion compare equal. Values, when asked for, are compared by streaming B's planned bytes against A's.
 */
public final class CheckpointDiff {

    private CheckpointDiff() {
    }

    public static DiffReport compare(Checkpoint a, Checkpoint b, boolean values, Cancellation cancellation)
            throws FuseboxException {
        return compare(a, b, values, ProgressListener.NONE, cancellation);
    }

    /**
     * As {@link #compare(Checkpoint, Checkpoint, boolean, Cancellation)}, telling {@code progress} of the bytes of
     * both sides read so far, out of both sides' bytes of the tensors whose values are compared.
     */
    public static DiffReport compare(Checkpoint a, Checkpoint b, boolean values, ProgressListener progress,
            Cancellation cancellation) throws FuseboxException {
        List<PlannedTarget> bInALayout = null;
        Optional<String> mapping = Optional.empty();
        boolean sameKind = a.kind() == b.kind();
        if (sameKind && a.layout() != Layout.UNKNOWN && b.layout() != Layout.UNKNOWN && a.layout() != b.layout()) {
            try {
                // An adapter's base gives its family and shapes: B's own, else A's (two versions of one adapter
                // usually share it, and a converted copy may sit where its relative base path leads nowhere).
                ConversionPlan plan = b.kind() == CheckpointKind.ADAPTER
                        ? AdapterPlanner.plan(b, b.baseModelDirectory().or(a::baseModelDirectory), b.ruleBook(),
                                Optional.of(a.layout()), Optional.empty()).plan()
                        : Planner.plan(b, b.ruleBook(), Optional.of(a.layout()));
                bInALayout = plan.targets();
                mapping = Optional.of("B read " + plan.from().jsonName() + " → " + plan.to().jsonName() + " with the "
                        + plan.rules());
            } catch (FuseboxException e) {
                if (b.kind() != CheckpointKind.ADAPTER) {
                    throw e;
                }
                // An adapter is read in the other layout through its base model; without one it is still worth
                // comparing as stored, saying why it was not mapped.
                mapping = Optional.of("B compared as stored, not read in A's layout: " + e.getMessage());
            }
        }
        if (bInALayout == null) {
            bInALayout = new ArrayList<>();
            for (StoredTensor t : b.tensors().values()) {
                bInALayout.add(new PlannedTarget(t.spec(), List.of(), new CopyRecipe(Assembly.of(t.spec()).placements())));
            }
        }
        Map<String, PlannedTarget> byKey = new LinkedHashMap<>();
        for (PlannedTarget t : bInALayout) {
            byKey.put(t.key(), t);
        }
        Map<String, List<Part>> parts = values ? parts(a, mapping.isPresent() ? bInALayout : null) : Map.of();
        int same = 0;
        List<TensorSpec> onlyInA = new ArrayList<>();
        List<DiffReport.Change> changed = new ArrayList<>();
        List<ValueJob> jobs = new ArrayList<>();
        for (StoredTensor t : a.tensors().values()) {
            PlannedTarget other = byKey.remove(t.key());
            if (other == null) {
                onlyInA.add(t.spec());
            } else if (!other.spec().equals(t.spec())) {
                changed.add(new DiffReport.Change(t.key(), t.spec(), other.spec()));
            } else {
                same++;
                if (values) {
                    jobs.add(new ValueJob(t, other, parts.getOrDefault(t.key(), List.of())));
                }
            }
        }
        List<DiffReport.ValueDiff> valueDiffs = List.of();
        if (values) {
            long bytesTotal = 0;
            for (ValueJob j : jobs) {
                bytesTotal = Math.addExact(bytesTotal, Math.multiplyExact(2, j.a().byteSize()));
            }
            try (SourceFiles aFiles = new SourceFiles(a); SourceFiles bFiles = new SourceFiles(b)) {
                valueDiffs = compareValues(jobs, aFiles, bFiles, new Read(progress, bytesTotal, jobs.size(),
                        lanes(jobs.size())), cancellation);
            } catch (IOException e) {
                FuseboxException shrank = SourceFiles.changed(List.of(a, b), e);
                throw shrank != null ? shrank : new FuseboxException(Problem.IO_ERROR, b.location(),
                        "could not be read (" + IoReason.of(e) + ")", e);
            }
        }
        List<DiffReport.OnlyInB> onlyInB = byKey.values().stream().map(t -> new DiffReport.OnlyInB(t.spec(),
                t.sources().stream().map(TensorSpec::key).toList())).toList();
        return new DiffReport(a.location().toString(), b.location().toString(), mapping, same, onlyInA, onlyInB,
                changed, values ? Optional.of(valueDiffs) : Optional.empty());
    }

    /** Most tensors compared at once: each lane holds about 19 MiB of buffers (B's window, A's chunk, values). */
    static final int MAX_LANES = 8;

    /** One of A's tensors whose values are compared with B's, read in A's layout. */
    private record ValueJob(StoredTensor a, PlannedTarget b, List<Part> parts) {
    }

    /** Tensors compared at once: one per core, at most {@link #MAX_LANES}, at most one per tensor. */
    private static int lanes(int tensors) {
        return Math.max(1, Math.min(tensors, Math.min(MAX_LANES, Runtime.getRuntime().availableProcessors())));
    }

    /**
     * Compares the values of each job's tensors, several at once (a lane per core, each taking the next tensor
     * when it is done with one), each byte of both sides read once; the results in the jobs' order. The first
     * failure of any lane stops the others and is the one thrown.
     */
    private static List<DiffReport.ValueDiff> compareValues(List<ValueJob> jobs, SourceFiles aFiles,
            SourceFiles bFiles, Read read, Cancellation cancellation) throws IOException, FuseboxException {
        DiffReport.ValueDiff[] out = new DiffReport.ValueDiff[jobs.size()];
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Exception> failure = new AtomicReference<>();
        Cancellation stop = () -> failure.get() != null || cancellation.isCancelled();
        IntConsumer lane = slot -> {
            try {
                TargetBytes bytes = new TargetBytes(bFiles, stop, n -> read.bRead(slot, n));
                ValueComparison.Buffers buffers = new ValueComparison.Buffers();
                for (int i = next.getAndIncrement(); i < jobs.size(); i = next.getAndIncrement()) {
                    stop.check();
                    out[i] = compare(jobs.get(i), aFiles, bytes, buffers, read, slot);
                }
            } catch (IOException | FuseboxException | RuntimeException e) {
                failure.compareAndSet(null, e);
            }
        };
        int lanes = read.lanes();
        if (lanes == 1) {
            lane.accept(0);
        } else {
            List<Thread> threads = new ArrayList<>();
            for (int slot = 0; slot < lanes; slot++) {
                int s = slot;
                threads.add(Thread.ofPlatform().name("fusebox-diff-" + slot).daemon().start(() -> lane.accept(s)));
            }
            joinAll(threads, failure);
        }
        // A lane keeps only these three.
        Exception f = failure.get();
        if (f instanceof IOException e) {
            throw e;
        }
        if (f instanceof FuseboxException e) {
            throw e;
        }
        if (f != null) {
            throw (RuntimeException) f;
        }
        return List.of(out);
    }

    /** Waits for every lane; an interrupt while waiting stops them, as a cancel would, and still waits. */
    private static void joinAll(List<Thread> threads, AtomicReference<Exception> failure) {
        boolean interrupted = false;
        for (Thread t : threads) {
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                    failure.compareAndSet(null, new FuseboxException(Problem.CANCELLED, null, "cancelled"));
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** One tensor's values: B's planned bytes streamed against A's, with the figures of its parts. */
    private static DiffReport.ValueDiff compare(ValueJob job, SourceFiles aFiles, TargetBytes bytes,
            ValueComparison.Buffers buffers, Read read, int slot) throws IOException, FuseboxException {
        StoredTensor t = job.a();
        ValueComparison c = new ValueComparison(aFiles.channel(t), t.fileOffset(), t.dtype(),
                job.parts().stream().map(Part::range).toList(), buffers);
        read.start(slot, t.key(), c);
        bytes.write(job.b(), c);
        c.finish();
        read.finish(slot);
        List<DiffReport.PartDiff> partDiffs = new ArrayList<>();
        for (int i = 0; i < job.parts().size(); i++) {
            partDiffs.add(new DiffReport.PartDiff(job.parts().get(i).range().name(), job.parts().get(i).slice(),
                    c.parts().get(i)));
        }
        return new DiffReport.ValueDiff(t.key(), c.whole(), partDiffs,
                c.worst() < 0 ? List.of() : index(c.worst(), t.spec().shape().dims()), c.worstA(), c.worstB());
    }

    /**
     * Bytes read so far of both sides: of the tensors done, and of each tensor at work B's bytes produced and A's
     * compared with them (A's lag B's by less than a comparison chunk). Lanes tell it from their own threads; it
     * tells the listener one at a time, the bytes never going back.
     */
    private static final class Read {

        private final ProgressListener progress;
        private final long bytesTotal;
        private final int tensorsTotal;
        private final long[] bDone;
        private final long[] atWork;
        private final ValueComparison[] comparisons;
        private long done;
        private int tensorsDone;
        private String current = "";

        Read(ProgressListener progress, long bytesTotal, int tensorsTotal, int lanes) {
            this.progress = progress;
            this.bytesTotal = bytesTotal;
            this.tensorsTotal = tensorsTotal;
            this.bDone = new long[lanes];
            this.atWork = new long[lanes];
            this.comparisons = new ValueComparison[lanes];
        }

        int lanes() {
            return comparisons.length;
        }

        synchronized void start(int lane, String key, ValueComparison c) {
            current = key;
            comparisons[lane] = c;
            bDone[lane] = 0;
            atWork[lane] = 0;
        }

        synchronized void bRead(int lane, long n) {
            bDone[lane] += n;
            atWork[lane] = bDone[lane] + comparisons[lane].compared();
            report();
        }

        synchronized void finish(int lane) {
            done += bDone[lane] + comparisons[lane].compared();
            atWork[lane] = 0;
            comparisons[lane] = null;
            tensorsDone++;
            report();
        }

        private void report() {
            long bytes = done;
            for (long n : atWork) {
                bytes += n;
            }
            progress.onProgress(new Progress(bytes, bytesTotal, tensorsDone, tensorsTotal, current));
        }
    }

    /** The flat (row-major) element {@code flat} as one index per dimension. */
    private static List<Long> index(long flat, long[] dims) {
        Long[] out = new Long[dims.length];
        for (int d = dims.length - 1; d >= 0; d--) {
            out[d] = dims[d] == 0 ? 0 : flat % dims[d];
            flat = dims[d] == 0 ? flat : flat / dims[d];
        }
        return List.of(out);
    }

    /** A part of one of A's tensors, with where it lies as a Python slice. */
    private record Part(ValueComparison.Part range, String slice) {
    }

    /**
     * The parts of A's fused tensors: from the plan that read B in A's layout (each placement is one of B's
     * tensors), or, for two v5 models, from the plan that would write A in the legacy layout (each of its
     * per-expert tensors is a slice of a fused one of A's). Only parts that are one contiguous range are kept.
     */
    private static Map<String, List<Part>> parts(Checkpoint a, List<PlannedTarget> bInALayout) {
        Map<String, List<Part>> out = new LinkedHashMap<>();
        if (a.kind() != CheckpointKind.MODEL) {
            return out;
        }
        // Parts are ranges of whole elements; sub-byte dtypes (packed four-bit values) are compared as bytes.
        if (bInALayout != null) {
            for (PlannedTarget t : bInALayout) {
                if (t.recipe() instanceof CopyRecipe copy && copy.placements().size() > 1 && t.dtype().wholeBytes()) {
                    long es = t.dtype().byteSize();
                    for (Placement p : copy.placements()) {
                        p.targetBytes(t.shape()).ifPresent(r -> out.computeIfAbsent(t.key(), k -> new ArrayList<>())
                                .add(new Part(new ValueComparison.Part(p.source().key(), r.start() / es,
                                        r.end() / es), p.targetSlice(t.shape()))));
                    }
                }
            }
        } else if (a.layout() == Layout.V5) {
            ConversionPlan toLegacy;
            try {
                toLegacy = Planner.plan(a, a.ruleBook(), Optional.of(Layout.LEGACY));
            } catch (FuseboxException e) {
                return out;
            }
            for (PlannedTarget t : toLegacy.targets()) {
                if (t.recipe() instanceof CopyRecipe copy && copy.placements().size() == 1 && t.dtype().wholeBytes()) {
                    Placement p = copy.placements().getFirst();
                    long es = t.dtype().byteSize();
                    if (!p.coversWholeSource()) {
                        p.sourceBytes(t.shape()).ifPresent(r -> out.computeIfAbsent(p.source().key(),
                                k -> new ArrayList<>()).add(new Part(new ValueComparison.Part(t.key(),
                                r.start() / es, r.end() / es), p.sourceSlice())));
                    }
                }
            }
        }
        for (List<Part> list : out.values()) {
            list.sort(Comparator.comparingLong(p -> p.range().start()));
            for (int i = 1; i < list.size(); i++) {
                if (list.get(i).range().start() < list.get(i - 1).range().end()) {
                    list.clear();
                }
            }
        }
        out.values().removeIf(List::isEmpty);
        return out;
    }
}
