package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The folder a checkpoint lives in, and the one rule for what in it is read: a regular file, reached directly or
 * through links whose real target stays inside the folder — or, for a Hugging Face cache snapshot, inside its repo
 * folder's {@code blobs/}, where every file of a snapshot really is. A link anywhere else is refused, naming where
 * it leads; a directory, pipe, device, socket or link loop where a file is expected is refused as what it is.
 */
public final class CheckpointFolder {

    /** Linux's limit on links followed in one lookup (MAXSYMLINKS); a longer chain is refused as a loop would be. */
    private static final int MAX_LINKS = 40;

    private final Path path;
    private final Path real;
    private final Optional<CachedModel> cached;
    private final Optional<Path> realBlobs;

    private CheckpointFolder(Path path, Path real, Optional<CachedModel> cached, Optional<Path> realBlobs) {
        this.path = path;
        this.real = real;
        this.cached = cached;
        this.realBlobs = realBlobs;
    }

    /** The folder {@code dir}, as the user reached it (a link to a folder is where the user sent us). */
    public static CheckpointFolder of(Path dir) throws FuseboxException {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, dir, "could not be resolved (" + IoReason.of(e) + ")", e);
        }
        Optional<CachedModel> cached = CachedModel.ofSnapshot(real);
        // blobs/ itself must be the repo's own folder: a blobs link would let a snapshot reach anywhere.
        Optional<Path> blobs = cached.map(CachedModel::blobs)
                .filter(b -> Files.isDirectory(b, LinkOption.NOFOLLOW_LINKS));
        return new CheckpointFolder(dir.toAbsolutePath().normalize(), real, cached, blobs);
    }

    public Path path() {
        return path;
    }

    /** The model in the Hugging Face cache this folder is a snapshot of. */
    public Optional<CachedModel> cachedModel() {
        return cached;
    }

    /** The entry {@code name} of the folder, checked by {@link #readable}; empty when nothing has that name. */
    public Optional<Path> find(String name) throws FuseboxException {
        Path p = path.resolve(name);
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS) ? Optional.of(readable(p)) : Optional.empty();
    }

    /** {@code file} (under this folder) if it may be read: a regular file here, or a link that stays inside. */
    public Path readable(Path file) throws FuseboxException {
        Path target = target(file);
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(target, BasicFileAttributes.class);
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, file, "could not be read (" + IoReason.of(e) + ")", e);
        }
        if (a.isRegularFile()) {
            return file;
        }
        throw new FuseboxException(Problem.NOT_A_REGULAR_FILE, file, "is " + kind(target, a)
                + ", not a regular file; Fusebox reads only regular files");
    }

    /** The real path {@code file} leads to, refused when it leaves the folder or cannot be followed. */
    private Path target(Path file) throws FuseboxException {
        Path realFile;
        try {
            realFile = file.toRealPath();
        } catch (NoSuchFileException e) {
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                throw new FuseboxException(Problem.NOT_A_CHECKPOINT, file, "is a link to " + linkText(file)
                        + ", which does not exist");
            }
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, file, "does not exist");
        } catch (FileSystemException e) {
            Optional<List<Path>> loop = loop(file);
            if (loop.isPresent()) {
                throw new FuseboxException(Problem.NOT_A_REGULAR_FILE, file, "is a link loop ("
                        + String.join(" → ", loop.get().stream().map(p -> p.getFileName().toString()).toList())
                        + "), not a regular file; Fusebox reads only regular files");
            }
            throw new FuseboxException(Problem.IO_ERROR, file, "could not be resolved (" + IoReason.of(e) + ")", e);
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, file, "could not be resolved (" + IoReason.of(e) + ")", e);
        }
        if (!inside(realFile)) {
            throw new FuseboxException(Problem.LINK_OUTSIDE_CHECKPOINT, file, "is a link to " + realFile
                    + ", outside the checkpoint folder" + (realBlobs.isPresent() ? " and its cache repo's blobs/" : "")
                    + "; Fusebox follows links only within it (copy the file into the folder to use it)");
        }
        return realFile;
    }

    private boolean inside(Path realFile) {
        return realFile.startsWith(real) || realBlobs.map(realFile::startsWith).orElse(false);
    }

    /** The links {@code file} leads through back to one already met, if following it goes round in a circle. */
    private static Optional<List<Path>> loop(Path file) {
        List<Path> chain = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        Path p = file.toAbsolutePath().normalize();
        try {
            while (chain.size() <= MAX_LINKS && Files.isSymbolicLink(p)) {
                chain.add(p);
                if (!seen.add(p)) {
                    return Optional.of(chain);
                }
                p = p.resolveSibling(Files.readSymbolicLink(p)).normalize();
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static String linkText(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            return "a path";
        }
    }

    /** What a file that is not regular is, in words; the file type from {@code unix:mode} where the system has it. */
    private static String kind(Path target, BasicFileAttributes a) {
        if (a.isDirectory()) {
            return "a directory";
        }
        try {
            int type = (Integer) Files.getAttribute(target, "unix:mode") & 0170000;
            return switch (type) {
                case 0010000 -> "a named pipe (FIFO)";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "a special file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "a device, pipe or socket";
        }
    }
}
