package dev.fusebox.converter.convert;

import dev.fusebox.converter.FileTrees;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.lora.AdapterPlan;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A model, and the adapter that goes with it, converted into a new temporary directory for a check that needs
 * both layouts on disk (verify without a conversion given): the model to the other layout, the adapter to the same
 * layout with the model as its base. An adapter with no expert or router LoRA means the same in both layouts and
 * is used as it is. Closing deletes the directory; a failure or a cancellation while writing deletes it at once.
 */
public final class TemporaryConversion implements AutoCloseable {

    private final Path directory;
    private final Path model;
    private final Optional<Path> adapter;

    private TemporaryConversion(Path directory, Path model, Optional<Path> adapter) {
        this.directory = directory;
        this.model = model;
        this.adapter = adapter;
    }

    /** The system's folder for temporary files, where a temporary conversion goes unless told otherwise. */
    public static Path systemTemporaryFolder() {
        return Path.of(System.getProperty("java.io.tmpdir"));
    }

    /**
     * Converts {@code model} and {@code adapter} into a new directory in {@code parent}, reporting the bytes
     * written out of both plans'.
     */
    public static TemporaryConversion write(Path parent, Checkpoint model, Optional<Checkpoint> adapter,
                                            ProgressListener progress, Cancellation cancellation)
            throws FuseboxException {
        PlannedConversion modelPlan = Conversions.plan(model, ConversionRequest.DEFAULT);
        Optional<PlannedConversion> adapterPlan = adapter.isPresent()
                ? adapterPlan(adapter.get(), model, modelPlan.plan().to()) : Optional.empty();
        long modelBytes = modelPlan.plan().targetBytes();
        long total = Math.addExact(modelBytes, adapterPlan.map(p -> p.plan().targetBytes()).orElse(0L));
        Path directory;
        try {
            directory = Files.createTempDirectory(parent, "fusebox-verify-");
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, parent,
                    "could not hold a temporary directory for the conversion (" + e.getMessage() + ")", e);
        }
        try {
            Path modelOut = directory.resolve("model");
            Conversions.execute(model, modelPlan.plan(), modelOut, ConvertOptions.DEFAULTS,
                    progress.offset(0, total), cancellation);
            Optional<Path> adapterOut = adapter.map(Checkpoint::location);
            if (adapterPlan.isPresent()) {
                adapterOut = Optional.of(directory.resolve("adapter"));
                Conversions.execute(adapter.get(), adapterPlan.get().plan(), adapterOut.get(), ConvertOptions.DEFAULTS,
                        progress.offset(modelBytes, total), cancellation);
            }
            return new TemporaryConversion(directory, modelOut, adapterOut);
        } catch (FuseboxException | RuntimeException e) {
            try {
                FileTrees.deleteTree(directory);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
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

    /** The converted model. */
    public Path model() {
        return model;
    }

    /** The converted adapter, or the adapter itself when it needed no conversion; absent without an adapter. */
    public Optional<Path> adapter() {
        return adapter;
    }

    /** Deletes what was written. */
    @Override
    public void close() throws FuseboxException {
        try {
            FileTrees.deleteTree(directory);
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, directory, "could not be removed (" + e.getMessage() + ")",
                    e);
        }
    }
}
