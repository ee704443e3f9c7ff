package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte ranges of a file, read through its channel into memory of their own. Not memory-mapped on purpose: a
 * mapped file that shrinks while it is read kills the JVM (SIGBUS) or throws an {@link InternalError} from
 * wherever the access happened, while a read of a shrunken file just ends early and is reported as the file
 * having changed. No file handle stays open between calls.
 */
public final class FileBytes {

    /** One read call's most: a {@link ByteBuffer} view of a segment is limited to 2 GiB. */
    private static final long MAX_READ = 1L << 30;

    private final Path path;
    private final long size;
    private final Map<Long, MemorySegment> kept = new ConcurrentHashMap<>();

    /** {@code size} is the file's size when its index was read: any other size means it changed since. */
    public FileBytes(Path path, long size) {
        this.path = path;
        this.size = size;
    }

    /** {@link #read}, once per range until {@link #forget()}: for tensors a caller asks for again and again. */
    public MemorySegment kept(long offset, long length) throws FuseboxException {
        MemorySegment m = kept.get(offset);
        if (m == null || m.byteSize() != length) {
            m = read(offset, length);
            kept.put(offset, m);
        }
        return m;
    }

    /** Lets go of the kept ranges (their memory is freed once nobody holds them). */
    public void forget() {
        kept.clear();
    }

    /**
     * {@code length} bytes from {@code offset}, in memory that is freed once the segment is no longer reachable.
     * Fails with the file named when the file no longer has the size it had or ends before the range does.
     */
    public MemorySegment read(long offset, long length) throws FuseboxException {
        if (offset < 0 || length < 0 || Math.addExact(offset, length) > size) {
            throw new IllegalArgumentException("bytes [" + offset + ", +" + length + ") are outside " + path
                    + " (" + size + " bytes)");
        }
        MemorySegment out = Arena.ofAuto().allocate(Math.max(length, 1), 64).asSlice(0, length);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            readInto(ch, path, size, offset, out);
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, path, "could not be read (" + IoReason.of(e) + ")", e);
        }
        return out.asReadOnly();
    }

    /**
     * Fills {@code dst} with the bytes of {@code ch} (the file at {@code path}) from {@code offset}, failing with the
     * file named when it no longer has the {@code size} it had when it was opened, before or after the read, or ends
     * before the range does.
     */
    public static void readInto(FileChannel ch, Path path, long size, long offset, MemorySegment dst)
            throws IOException, FuseboxException {
        checkSize(path, size, ch.size());
        long length = dst.byteSize();
        long done = 0;
        while (done < length) {
            ByteBuffer into = dst.asSlice(done, Math.min(MAX_READ, length - done)).asByteBuffer();
            while (into.hasRemaining()) {
                if (ch.read(into, offset + done + into.position()) < 0) {
                    throw changed(path, size, ch.size());
                }
            }
            done += into.capacity();
        }
        checkSize(path, size, ch.size());
    }

    private static void checkSize(Path path, long size, long now) throws FuseboxException {
        if (now != size) {
            throw changed(path, size, now);
        }
    }

    private static FuseboxException changed(Path path, long size, long now) {
        return new FuseboxException(Problem.IO_ERROR, path, "changed while being read (it had " + size
                + " bytes when it was opened and has " + now + " now); make sure nothing writes to it and try again");
    }
}
