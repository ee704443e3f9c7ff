package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.TensorSpec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Writes one shard file: its targets' bytes after the header, into a temporary file renamed on success. A large
 * shard is written by two threads, each a contiguous half of its tensors through its own channel at its own offset:
 * on a fast disk the kernel's copy is bound by the CPU, and one thread cannot keep it busy (docs/benchmarks.md).
 * The lanes stop together: a failure or a cancellation in one makes the other stop at its next step, and the
 * failure that caused it is the one reported.
 */
final class ShardWriter {

    private static final Executor LANE = task -> Thread.ofPlatform().name("fusebox-shard-lane").daemon(true)
            .start(task);

    private final SourceFiles sources;
    private final ProgressTracker tracker;
    private final Cancellation cancellation;
    private final long twoLanesFrom;

    ShardWriter(SourceFiles sources, ProgressTracker tracker, Cancellation cancellation, long twoLanesFrom) {
        this.sources = sources;
        this.tracker = tracker;
        this.cancellation = cancellation;
        this.twoLanesFrom = twoLanesFrom;
    }

    /**
     * Writes {@code targets} into {@code file} with the given {@code __metadata__}, syncing it first when
     * {@code sync} (else the caller syncs it), and gives it {@code permissions} when not null.
     */
    void write(Path file, Map<String, String> metadata, List<PlannedTarget> targets, boolean sync,
               Set<PosixFilePermission> permissions) throws FuseboxException {
        List<TensorSpec> specs = targets.stream().map(PlannedTarget::spec).toList();
        try (SafetensorsWriter w = SafetensorsWriter.create(file, metadata, specs)) {
            int split = secondLaneStart(targets);
            long splitOffset = bytes(targets.subList(0, split));
            AtomicBoolean stop = new AtomicBoolean();
            Cancellation lanes = () -> stop.get() || cancellation.isCancelled();
            CompletableFuture<Void> second = split == targets.size() ? null : CompletableFuture.runAsync(() -> {
                try (FileChannel channel = w.channelAt(splitOffset)) {
                    writeLane(file, targets.subList(split, targets.size()), channel, lanes);
                } catch (IOException | FuseboxException e) {
                    stop.set(true);
                    throw new CompletionException(e);
                } catch (RuntimeException | Error e) {
                    stop.set(true);
                    throw e;
                }
            }, LANE);
            Throwable first = null;
            try {
                writeLane(file, targets.subList(0, split), w.channel(), lanes);
            } catch (IOException | FuseboxException | RuntimeException | Error e) {
                stop.set(true);
                first = e;
            }
            Throwable other = second == null ? null : outcome(second);
            rethrowFirstCause(first, other);
            cancellation.check();
            if (sync) {
                w.commit();
            } else {
                w.commitUnsynced();
            }
            if (permissions != null) {
                Files.setPosixFilePermissions(file, permissions);
            }
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, file, "could not be written (" + IoReason.of(e) + ")", e);
        }
    }

    /** Where the second lane starts: the first tensor past half the bytes, or the end when one lane writes all. */
    private int secondLaneStart(List<PlannedTarget> targets) {
        long total = bytes(targets);
        if (targets.size() < 2 || total < twoLanesFrom || Runtime.getRuntime().availableProcessors() < 2) {
            return targets.size();
        }
        long before = 0;
        for (int i = 0; i < targets.size() - 1; i++) {
            before += targets.get(i).byteSize();
            if (before * 2 >= total) {
                return i + 1;
            }
        }
        return targets.size() - 1;
    }

    private static long bytes(List<PlannedTarget> targets) {
        long n = 0;
        for (PlannedTarget t : targets) {
            n = Math.addExact(n, t.byteSize());
        }
        return n;
    }

    /** Writes {@code targets} in order at {@code channel}'s position and checks it wrote exactly their bytes. */
    private void writeLane(Path file, List<PlannedTarget> targets, FileChannel channel, Cancellation lanes)
            throws IOException, FuseboxException {
        long start = channel.position();
        TargetBytes bytes = new TargetBytes(sources, lanes, tracker::add);
        ByteSink sink = new ChannelSink(channel);
        for (PlannedTarget t : targets) {
            tracker.start(t);
            bytes.write(t, sink);
            tracker.done();
        }
        long written = channel.position() - start;
        if (written != bytes(targets)) {
            throw new IOException(file + ": wrote " + written + " bytes of " + targets.size() + " tensors, expected "
                    + bytes(targets));
        }
    }

    /** What the second lane ended with: null when it finished, else its failure. */
    private static Throwable outcome(CompletableFuture<Void> lane) {
        try {
            lane.join();
            return null;
        } catch (CompletionException e) {
            return e.getCause() != null ? e.getCause() : e;
        }
    }

    /**
     * Throws the failure that stopped the lanes: a lane's own failure over the cancellation the other lane saw
     * because of it, a user's cancellation over nothing.
     */
    private void rethrowFirstCause(Throwable first, Throwable other) throws IOException, FuseboxException {
        Throwable cause = first;
        if (cause == null || (inducedCancellation(cause) && other != null)) {
            cause = other;
        }
        switch (cause) {
            case null -> { }
            case IOException e -> throw e;
            case FuseboxException e -> throw e;
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            default -> throw new IllegalStateException(cause);
        }
    }

    private boolean inducedCancellation(Throwable t) {
        return t instanceof FuseboxException f && f.problem() == Problem.CANCELLED && !cancellation.isCancelled();
    }

    /** A lane's bytes: appended at its channel's position, ranges copied by the kernel. */
    private record ChannelSink(FileChannel channel) implements ByteSink {
        @Override
        public void write(ByteBuffer bytes) throws IOException {
            SafetensorsWriter.writeFully(channel, bytes);
        }

        @Override
        public void transfer(FileChannel source, long position, long count, ByteBuffer scratch) throws IOException {
            SafetensorsWriter.transfer(source, position, count, channel);
        }
    }
}
