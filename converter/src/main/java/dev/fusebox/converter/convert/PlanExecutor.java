package dev.fusebox.converter.convert;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FileTrees;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.TensorFile;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Executes a plan: streams every target into new safetensors files, shards them with
 * {@code model.safetensors.index.json} when they pass the shard size, copies the companion files (config,
 * tokenizer, generation config) unchanged and writes the files the plan generates. The input is only read. A directory output is built in
 * {@code OUT.partial/} and renamed to {@code OUT} when complete; a single {@code .safetensors} output goes through
 * a temporary file beside it. A failure or a cancellation removes what was written; an existing output is
 * replaced only when asked to and only when {@link OutputGuard} finds it Fusebox's own.
 */
public final class PlanExecutor {

    private static final String PARTIAL = ".partial";

    private PlanExecutor() {
    }

    public static ConversionResult execute(Checkpoint source, ConversionPlan plan, Path out, ConvertOptions options,
                                           ProgressListener listener, Cancellation cancellation)
            throws FuseboxException {
        return execute(source, List.of(), plan, out, options, listener, cancellation);
    }

    /**
     * Executes a plan whose computed targets also read tensors of {@code otherInputs} (those
     * {@link ConversionPlan#otherInputs()} names, in that order), such as an adapter merged into the base.
     */
    public static ConversionResult execute(Checkpoint source, List<Checkpoint> otherInputs, ConversionPlan plan,
                                           Path out, ConvertOptions options, ProgressListener listener,
                                           Cancellation cancellation)
            throws FuseboxException {
        if (!plan.source().equals(source.location())) {
            throw new FuseboxException(Problem.UNSUPPORTED, source.location(),
                    "the plan given was made for " + plan.source());
        }
        List<Path> others = otherInputs.stream().map(Checkpoint::location).toList();
        if (!others.equals(plan.otherInputs())) {
            throw new FuseboxException(Problem.UNSUPPORTED, source.location(),
                    "the plan given reads " + plan.otherInputs() + " besides it, not " + others);
        }
        Path output = out.toAbsolutePath().normalize();
        List<Checkpoint> inputs = new ArrayList<>();
        inputs.add(source);
        inputs.addAll(otherInputs);
        OutputGuard.check(output, inputs, options.force());
        long start = System.nanoTime();
        ProgressTracker tracker = new ProgressTracker(plan, listener);
        Map<String, String> metadata = metadata(source);
        try {
            return write(source, otherInputs, plan, output, options, tracker, cancellation, metadata, start);
        } catch (FuseboxException e) {
            // A read past the end of an input that shrank fails while writing a shard of OUT.partial: name the input.
            FuseboxException changed = e.problem() == Problem.IO_ERROR ? SourceFiles.changed(inputs, e) : null;
            throw changed == null ? e : changed;
        }
    }

    private static ConversionResult write(Checkpoint source, List<Checkpoint> otherInputs, ConversionPlan plan,
                                          Path output, ConvertOptions options, ProgressTracker tracker,
                                          Cancellation cancellation, Map<String, String> metadata, long start)
            throws FuseboxException {
        try (SourceFiles files = new SourceFiles(source, otherInputs)) {
            ShardWriter shards = new ShardWriter(files, tracker, cancellation, options.twoLanesFrom());
            if (output.getFileName().toString().endsWith(".safetensors")) {
                if (!plan.generatedFiles().isEmpty()) {
                    throw new FuseboxException(Problem.UNSUPPORTED, output, "is a single file, but the conversion also "
                            + "writes " + plan.generatedFiles().keySet().iterator().next() + "; give a directory");
                }
                shards.write(output, metadata, plan.targets(), true, permissionsOf(source));
                tracker.finish();
                return new ConversionResult(output, List.of(output), List.of(), plan.targets().size(),
                        plan.targetBytes(), System.nanoTime() - start);
            }
            return writeDirectory(source, plan, output, options, metadata, shards, tracker, cancellation, start);
        }
    }

    private static ConversionResult writeDirectory(Checkpoint source, ConversionPlan plan, Path output,
                                                   ConvertOptions options, Map<String, String> metadata,
                                                   ShardWriter writer, ProgressTracker tracker,
                                                   Cancellation cancellation, long start)
            throws FuseboxException {
        Path partial = output.resolveSibling(output.getFileName() + PARTIAL);
        OutputGuard.checkLeftover(partial, options.force());
        try {
            FileTrees.deleteTree(partial);
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, partial, "could not be removed (" + IoReason.of(e) + ")", e);
        }
        boolean done = false;
        try {
            Files.createDirectory(partial);
            OutputGuard.mark(partial);
            ShardLayout shards = ShardLayout.of(plan.targets(), options.maxShardBytes(), plan.weightsName());
            List<Path> weightFiles = new ArrayList<>();
            List<Path> written = new ArrayList<>();
            for (int i = 0; i < shards.shards().size(); i++) {
                Path shard = partial.resolve(shards.names().get(i));
                writer.write(shard, metadata, shards.shards().get(i), false, permissionsOf(source));
                written.add(shard);
                weightFiles.add(output.resolve(shards.names().get(i)));
            }
            // Synced together once all are written: the directory is published by one rename below, so no shard
            // needs to be on disk before the next is written. Opened for reading: a shard already has the input's
            // permissions, which may be read-only, and a sync needs no more.
            for (Path shard : written) {
                try (FileChannel c = FileChannel.open(shard, StandardOpenOption.READ)) {
                    c.force(true);
                }
            }
            if (shards.shards().size() > 1) {
                writeIndex(partial.resolve(plan.weightsName() + ".index.json"), plan, shards);
            }
            List<Path> companions = new ArrayList<>();
            for (Path c : source.companionFiles()) {
                if (!plan.generatedFiles().containsKey(c.getFileName().toString())) {
                    Files.copy(c, partial.resolve(c.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
                    companions.add(output.resolve(c.getFileName()));
                }
            }
            for (Map.Entry<String, String> g : plan.generatedFiles().entrySet()) {
                Path file = partial.resolve(g.getKey()).normalize();
                if (!file.getParent().equals(partial)) {
                    throw new FuseboxException(Problem.UNSUPPORTED, output, "a plan may only add plain file names, "
                            + "not " + g.getKey());
                }
                Files.writeString(file, g.getValue());
            }
            cancellation.check();
            moveIntoPlace(partial, output);
            done = true;
            tracker.finish();
            return new ConversionResult(output, weightFiles, companions, plan.targets().size(), plan.targetBytes(),
                    System.nanoTime() - start);
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, output, "could not be written (" + IoReason.of(e) + ")", e);
        } finally {
            if (!done) {
                FileTrees.deleteQuietly(partial);
            }
        }
    }

    /** The input's file permissions, which the weight files get too (the writer's temporary file has 0600). */
    private static Set<PosixFilePermission> permissionsOf(Checkpoint source) {
        try {
            return Files.getPosixFilePermissions(source.files().getFirst().path());
        } catch (UnsupportedOperationException | IOException e) {
            return null;
        }
    }

    private static void writeIndex(Path file, ConversionPlan plan, ShardLayout shards) throws IOException {
        Map<String, String> weights = new TreeMap<>();
        for (int i = 0; i < shards.shards().size(); i++) {
            for (PlannedTarget t : shards.shards().get(i)) {
                weights.put(t.key(), shards.names().get(i));
            }
        }
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.putObject("metadata").put("total_size", plan.targetBytes());
        ObjectNode map = root.putObject("weight_map");
        weights.forEach(map::put);
        Files.writeString(file, JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build()
                .writeValueAsString(root) + "\n");
    }

    /** The input's safetensors metadata ({@code format: pt} and the like), carried over. */
    private static Map<String, String> metadata(Checkpoint source) {
        Map<String, String> m = new LinkedHashMap<>();
        for (TensorFile f : source.files()) {
            m.putAll(f.metadata());
            break;
        }
        m.putIfAbsent("format", "pt");
        return m;
    }

    private static void moveIntoPlace(Path partial, Path output) throws IOException {
        if (!Files.exists(output)) {
            Files.move(partial, output, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
        Path old = output.resolveSibling(output.getFileName() + ".replaced-" + System.nanoTime());
        Files.move(output, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(partial, output, StandardCopyOption.ATOMIC_MOVE);
        FileTrees.deleteTree(old);
    }
}
