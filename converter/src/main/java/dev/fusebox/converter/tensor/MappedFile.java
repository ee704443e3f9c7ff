package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file's bytes, memory-mapped read-only and whole (a {@link MemorySegment} has no 2 GiB limit) the first time
 * they are asked for, and checked to still have the size the file had when its index was read. No file handle
 * stays open between calls.
 */
public final class MappedFile implements AutoCloseable {

    private final Path path;
    private final long size;
    private Arena arena;
    private MemorySegment mapped;

    public MappedFile(Path path, long size) {
        this.path = path;
        this.size = size;
    }

    /** {@code length} bytes from {@code offset}, read-only. */
    public MemorySegment slice(long offset, long length) throws FuseboxException {
        return segment().asSlice(offset, length);
    }

    private synchronized MemorySegment segment() throws FuseboxException {
        if (mapped == null) {
            Arena a = Arena.ofShared();
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                if (ch.size() != size) {
                    a.close();
                    throw new FuseboxException(Problem.IO_ERROR, path,
                            "changed size since it was opened (" + size + " → " + ch.size() + " bytes)");
                }
                mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, a).asReadOnly();
                arena = a;
            } catch (IOException e) {
                a.close();
                throw new FuseboxException(Problem.IO_ERROR, path, "could not be mapped (" + IoReason.of(e) + ")", e);
            }
        }
        return mapped;
    }

    /** Unmaps the bytes; segments handed out before become inaccessible. */
    @Override
    public synchronized void close() {
        if (arena != null) {
            arena.close();
            arena = null;
            mapped = null;
        }
    }
}
