package dev.fusebox.converter.convert;

import dev.fusebox.converter.FileTrees;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.lora.AdapterPlan;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.Optional;

/**
 * An adapter converted into a new temporary directory, for a verification that reads its model's conversion
 * through the plan (the model is never written; an adapter is small, and the forward pass reads it with its
 * config). An adapter with no expert or router LoRA means the same in both layouts and is used as it is. Closing
 * deletes the directory; a failure or a cancellation while writing deletes it at once, and a run that was
 * killed has its directory deleted by the next one ({@link #removeAbandoned}).
 */
public final class TemporaryConversion implements AutoCloseable {

    /** Directories are named {@code fusebox-verify-PID-RANDOM}, so the next run can tell an abandoned one. */
    static final String PREFIX = "fusebox-verify-";

    private final Path directory;
    private final Path adapter;

    private TemporaryConversion(Path directory, Path adapter) {
        this.directory = directory;
        this.adapter = adapter;
    }

    /** The system's folder for temporary files, where a temporary conversion goes unless told otherwise. */
    public static Path systemTemporaryFolder() {
        return Path.of(System.getProperty("java.io.tmpdir"));
    }

    /**
     * Converts {@code adapter} to {@code to}, with {@code base} as its base, into a new directory in
     * {@code parent}; none when it means the same in both layouts. Refuses before writing when {@code parent}'s
     * file system cannot hold it.
     */
    public static Optional<TemporaryConversion> adapter(Path parent, Checkpoint adapter, Checkpoint base, Layout to,
                                                        ProgressListener progress, Cancellation cancellation)
            throws FuseboxException {
        Optional<PlannedConversion> plan = adapterPlan(adapter, base, to);
        if (plan.isEmpty()) {
            return Optional.empty();
        }
        FreeSpace.require(parent, plan.get().plan().targetBytes(), "the adapter's conversion");
        removeAbandoned(parent);
        Path directory;
        try {
            directory = Files.createTempDirectory(parent, PREFIX + ProcessHandle.current().pid() + "-");
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, parent,
                    "could not hold a temporary directory for the conversion (" + IoReason.of(e) + ")", e);
        }
        try {
            Path out = directory.resolve("adapter");
            Conversions.execute(adapter, plan.get().plan(), out, ConvertOptions.DEFAULTS, progress, cancellation);
            return Optional.of(new TemporaryConversion(directory, out));
        } catch (FuseboxException | RuntimeException e) {
            try {
                FileTrees.deleteTree(directory);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * Deletes the temporary directories in {@code parent} that a killed run left: named with their maker's process
     * id, they are abandoned when that process is gone, or is a newer one that reuses the number (started after
     * the directory was made). A directory that cannot be read or deleted is left alone; this is tidying, not work
     * the caller asked for.
     */
    static void removeAbandoned(Path parent) {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent, PREFIX + "*-*")) {
            for (Path p : entries) {
                String rest = p.getFileName().toString().substring(PREFIX.length());
                int dash = rest.indexOf('-');
                if (dash <= 0 || dash > 18 || !rest.substring(0, dash).chars().allMatch(Character::isDigit)
                        || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                Instant made = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                        .creationTime().toInstant();
                Optional<ProcessHandle> maker = ProcessHandle.of(Long.parseLong(rest.substring(0, dash)));
                boolean alive = maker.isPresent()
                        && maker.get().info().startInstant().map(start -> !start.isAfter(made)).orElse(true);
                if (!alive) {
                    FileTrees.deleteQuietly(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            // Tidying only: an unreadable temporary folder must not stop the check.
        }
    }

    /** The adapter's conversion to {@code to} on {@code base}, or none when it means the same in both layouts. */
    private static Optional<PlannedConversion> adapterPlan(Checkpoint adapter, Checkpoint base, Layout to)
            throws FuseboxException {
        try {
            PlannedConversion planned = Conversions.plan(adapter, ConversionRequest.to(to)
                    .withBase(Optional.of(base.location())));
            return planned.adapter().filter(AdapterPlan::nothingToConvert).isPresent() ? Optional.empty()
                    : Optional.of(planned);
        } catch (FuseboxException e) {
            // Already in that layout, which the forward pass on the source side then refuses with the module it
            // cannot place.
            if (e.problem() == Problem.ALREADY_CONVERTED) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** The converted adapter. */
    public Path adapter() {
        return adapter;
    }

    /** Deletes what was written. */
    @Override
    public void close() throws FuseboxException {
        try {
            FileTrees.deleteTree(directory);
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, directory, "could not be removed (" + IoReason.of(e) + ")",
                    e);
        }
    }
}
