package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.safetensors.SafetensorsFile;
import dev.fusebox.converter.tensor.TensorFile;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Decides whether a conversion may write to an output path, and so whether {@code --force} may delete what is
 * there. Only what Fusebox itself wrote is ever replaced: a directory carrying its {@link #MARKER}, an empty
 * directory, or a single safetensors file. Anything else — a device, a link, a folder of someone's files, the
 * input or anything holding it or inside it — is refused, forced or not.
 */
public final class OutputGuard {

    /** Written first into every output directory, so a later {@code --force} can tell it is Fusebox's to replace. */
    public static final String MARKER = ".fusebox-output";

    private OutputGuard() {
    }

    /** Refuses {@code output} unless a conversion of {@code inputs} may be written there. */
    public static void check(Path output, List<Checkpoint> inputs, boolean force) throws FuseboxException {
        Path parent = output.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, output, "cannot be written: its directory "
                    + (parent == null ? "" : parent + " ") + "does not exist");
        }
        boolean exists = Files.exists(output, LinkOption.NOFOLLOW_LINKS);
        try {
            Path real = exists && !Files.isSymbolicLink(output)
                    ? output.toRealPath() : parent.toRealPath().resolve(output.getFileName());
            for (Checkpoint input : inputs) {
                for (Path in : inputPaths(input)) {
                    if (in.startsWith(real)) {
                        throw new FuseboxException(Problem.OUTPUT_EXISTS, output, "is or holds the input " + in
                                + "; write the conversion somewhere else");
                    }
                }
                if (holdsItsFiles(input) && real.startsWith(input.directory().toRealPath())) {
                    throw new FuseboxException(Problem.OUTPUT_EXISTS, output, "is inside the input "
                            + input.directory() + "; write the conversion somewhere else");
                }
            }
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, output, "could not be resolved (" + IoReason.of(e) + ")", e);
        }
        if (!exists) {
            return;
        }
        String replaceable = whyNotReplaceable(output);
        if (replaceable != null) {
            throw new FuseboxException(Problem.OUTPUT_EXISTS, output, "already exists and " + replaceable
                    + "; Fusebox replaces only an earlier conversion of its own or an empty folder, so choose "
                    + "another output or remove it yourself");
        }
        if (!force) {
            throw new FuseboxException(Problem.OUTPUT_EXISTS, output, "already exists; choose another output or ask "
                    + "to replace it", Remedy.REPLACE_OUTPUT);
        }
    }

    /**
     * Refuses a leftover {@code OUT.partial} unless it is Fusebox's own (marked, or empty as a run killed right
     * after creating it leaves it) and the user asked to replace it.
     */
    public static void checkLeftover(Path partial, boolean force) throws FuseboxException {
        if (!Files.exists(partial, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(partial, LinkOption.NOFOLLOW_LINKS) || !(marked(partial) || empty(partial))) {
            throw new FuseboxException(Problem.OUTPUT_EXISTS, partial, "already exists and was not left by a "
                    + "Fusebox conversion; choose another output or remove it yourself");
        }
        if (!force) {
            throw new FuseboxException(Problem.OUTPUT_EXISTS, partial, "already exists (left by an interrupted "
                    + "conversion?); remove it or ask to replace it", Remedy.REPLACE_OUTPUT);
        }
    }

    /** Marks a directory Fusebox is about to fill as its own. */
    static void mark(Path directory) throws IOException {
        Files.writeString(directory.resolve(MARKER), "Written by Fusebox, which replaces this folder when asked "
                + "to.\n");
    }

    /** Null when {@code output} is Fusebox's to replace, else why not, as the end of a sentence. */
    private static String whyNotReplaceable(Path output) throws FuseboxException {
        if (Files.isSymbolicLink(output)) {
            return "is a link";
        }
        if (Files.isDirectory(output, LinkOption.NOFOLLOW_LINKS)) {
            if (marked(output) || empty(output)) {
                return null;
            }
            return "is a folder that Fusebox did not write (it has no " + MARKER + " file)";
        }
        if (!Files.isRegularFile(output, LinkOption.NOFOLLOW_LINKS)) {
            return "is not a regular file (a device, a pipe or a socket)";
        }
        if (!output.getFileName().toString().endsWith(".safetensors")) {
            return "is a file, not a checkpoint folder";
        }
        try {
            SafetensorsFile.open(output).close();
            return null;
        } catch (FuseboxException e) {
            return "is not a safetensors file";
        }
    }

    private static boolean marked(Path directory) {
        return Files.isRegularFile(directory.resolve(MARKER), LinkOption.NOFOLLOW_LINKS);
    }

    private static boolean empty(Path directory) throws FuseboxException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(directory)) {
            return !s.iterator().hasNext();
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, directory, "could not be listed (" + IoReason.of(e) + ")", e);
        }
    }

    /** An input names its own folder when it is a checkpoint directory or an index file, not a lone weight file. */
    private static boolean holdsItsFiles(Checkpoint input) {
        return Files.isDirectory(input.location()) || input.location().getFileName().toString().endsWith(".json");
    }

    private static List<Path> inputPaths(Checkpoint input) throws IOException {
        List<Path> paths = new ArrayList<>();
        paths.add(input.location().toRealPath());
        for (TensorFile f : input.files()) {
            paths.add(f.path().toRealPath());
        }
        return paths;
    }
}
