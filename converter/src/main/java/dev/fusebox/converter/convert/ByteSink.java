package dev.fusebox.converter.convert;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Where a target's bytes go, in order: a file being written, or a check that compares them. */
public interface ByteSink {

    /** Takes the remaining bytes of {@code bytes}. */
    void write(ByteBuffer bytes) throws IOException;

    /**
     * Takes {@code count} bytes of {@code source} from {@code position}. A file sink lets the kernel copy them;
     * this default reads them through {@code scratch}.
     */
    default void transfer(FileChannel source, long position, long count, ByteBuffer scratch) throws IOException {
        long done = 0;
        while (done < count) {
            scratch.clear();
            scratch.limit((int) Math.min(scratch.capacity(), count - done));
            SourceFiles.readFully(source, scratch, position + done);
            scratch.flip();
            write(scratch);
            done += scratch.limit();
        }
    }
}
