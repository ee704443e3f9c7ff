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
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.safetensors.Dtype;
import dev.fusebox.converter.safetensors.TensorSpec;
import dev.fusebox.converter.tensor.FloatCodec;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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
        int same = 0;
        List<TensorSpec> onlyInA = new ArrayList<>();
        List<DiffReport.Change> changed = new ArrayList<>();
        List<DiffReport.ValueDiff> valueDiffs = new ArrayList<>();
        try (SourceFiles aFiles = new SourceFiles(a); SourceFiles bFiles = new SourceFiles(b)) {
            TargetBytes bBytes = new TargetBytes(bFiles, cancellation, n -> { });
            for (StoredTensor t : a.tensors().values()) {
                PlannedTarget other = byKey.remove(t.key());
                if (other == null) {
                    onlyInA.add(t.spec());
                } else if (!other.spec().equals(t.spec())) {
                    changed.add(new DiffReport.Change(t.key(), t.spec(), other.spec()));
                } else {
                    same++;
                    if (values) {
                        cancellation.check();
                        Comparison c = new Comparison(aFiles.channel(t), t.fileOffset(), t.dtype());
                        bBytes.write(other, c);
                        valueDiffs.add(new DiffReport.ValueDiff(t.key(), c.differing, c.maxAbsDiff));
                    }
                }
            }
        } catch (IOException e) {
            FuseboxException shrank = SourceFiles.changed(List.of(a, b), e);
            throw shrank != null ? shrank : new FuseboxException(Problem.IO_ERROR, b.location(),
                    "could not be read (" + IoReason.of(e) + ")", e);
        }
        List<DiffReport.OnlyInB> onlyInB = byKey.values().stream().map(t -> new DiffReport.OnlyInB(t.spec(),
                t.sources().stream().map(TensorSpec::key).toList())).toList();
        return new DiffReport(a.location().toString(), b.location().toString(), mapping, same, onlyInA, onlyInB,
                changed, values ? Optional.of(valueDiffs) : Optional.empty());
    }

    /** Receives B's bytes of one tensor and compares them with A's, element by element where they differ. */
    private static final class Comparison implements ByteSink {
        private final FileChannel aChannel;
        private final long aOffset;
        private final Dtype dtype;
        private final ByteBuffer aBytes = ByteBuffer.allocateDirect(1 << 20);
        private long position;
        private long differing;
        private double maxAbsDiff;

        Comparison(FileChannel aChannel, long aOffset, Dtype dtype) {
            this.aChannel = aChannel;
            this.aOffset = aOffset;
            this.dtype = dtype;
            this.maxAbsDiff = dtype.decodable() ? 0 : Double.NaN;
        }

        @Override
        public void write(ByteBuffer bytes) throws IOException {
            int es = dtype.byteSize();
            while (bytes.hasRemaining()) {
                int n = Math.min(bytes.remaining(), aBytes.capacity());
                aBytes.clear().limit(n);
                SourceFiles.readFully(aChannel, aBytes, aOffset + position);
                aBytes.flip();
                MemorySegment mine = MemorySegment.ofBuffer(aBytes).asSlice(0, n);
                MemorySegment theirs = MemorySegment.ofBuffer(bytes).asSlice(0, n);
                long at = mine.mismatch(theirs);
                if (at >= 0) {
                    long firstElement = (position + at) / es;
                    long lastElement = (position + n - 1) / es;
                    for (long e = firstElement; e <= lastElement; e++) {
                        long off = e * es - position;
                        if (off < 0 || off + es > n) {
                            continue;
                        }
                        if (mine.asSlice(off, es).mismatch(theirs.asSlice(off, es)) >= 0) {
                            differing++;
                            if (dtype.decodable()) {
                                double x = FloatCodec.get(mine.asSlice(off, es), dtype, 0);
                                double y = FloatCodec.get(theirs.asSlice(off, es), dtype, 0);
                                double d = Double.isNaN(x) != Double.isNaN(y) ? Double.POSITIVE_INFINITY
                                        : Double.isNaN(x) ? 0 : Math.abs(x - y);
                                maxAbsDiff = Math.max(maxAbsDiff, d);
                            }
                        }
                    }
                }
                bytes.position(bytes.position() + n);
                position += n;
            }
        }
    }
}
