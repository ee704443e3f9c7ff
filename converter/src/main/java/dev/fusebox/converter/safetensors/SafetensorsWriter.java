package dev.fusebox.converter.safetensors;

import dev.fusebox.converter.tensor.TensorSpec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a safetensors file by streaming: the header first (padded with spaces so the data starts on an 8-byte
 * boundary), then each tensor's bytes in the order the specs were given. Everything goes to a temporary file
 * beside the target, renamed over the target by {@link #commit()}; closing without a commit deletes it.
 */
public final class SafetensorsWriter implements AutoCloseable {

    private static final JsonFactory JSON = new JsonFactory();

    private final Path target;
    private final Path temporary;
    private final FileChannel channel;
    private final long dataStart;
    private final long dataLength;
    private boolean committed;

    private SafetensorsWriter(Path target, Path temporary, FileChannel channel, long dataStart, long dataLength) {
        this.target = target;
        this.temporary = temporary;
        this.channel = channel;
        this.dataStart = dataStart;
        this.dataLength = dataLength;
    }

    /** Starts a file holding {@code tensors}, in that order, with the given {@code __metadata__}. */
    public static SafetensorsWriter create(Path target, Map<String, String> metadata, List<TensorSpec> tensors)
            throws IOException {
        byte[] header = header(metadata, tensors);
        long dataLength = 0;
        for (TensorSpec t : tensors) {
            dataLength = Math.addExact(dataLength, t.byteSize());
        }
        Path dir = target.toAbsolutePath().getParent();
        Path temporary = Files.createTempFile(dir, "." + target.getFileName() + ".", ".partial");
        FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        try {
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            writeFully(channel, prefix);
            writeFully(channel, ByteBuffer.wrap(header));
        } catch (IOException e) {
            channel.close();
            Files.deleteIfExists(temporary);
            throw e;
        }
        return new SafetensorsWriter(target, temporary, channel, 8L + header.length, dataLength);
    }

    /** The JSON header for these tensors, laid out back to back, padded with spaces to a multiple of 8 bytes. */
    static byte[] header(Map<String, String> metadata, List<TensorSpec> tensors) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Set<String> seen = new HashSet<>();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (Map.Entry<String, String> e : metadata.entrySet()) {
                    g.writeStringField(e.getKey(), e.getValue());
                }
                g.writeEndObject();
            }
            long offset = 0;
            for (TensorSpec t : tensors) {
                if (!seen.add(t.key()) || t.key().equals("__metadata__")) {
                    throw new IllegalArgumentException("tensor key written twice or reserved: " + t.key());
                }
                long end = Math.addExact(offset, t.byteSize());
                g.writeObjectFieldStart(t.key());
                g.writeStringField("dtype", t.dtype().name());
                g.writeArrayFieldStart("shape");
                for (long d : t.shape().dims()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(end);
                g.writeEndArray();
                g.writeEndObject();
                offset = end;
            }
            g.writeEndObject();
        }
        int pad = (8 - (8 + out.size()) % 8) % 8;
        for (int i = 0; i < pad; i++) {
            out.write(' ');
        }
        return out.toByteArray();
    }

    /** The channel data goes to; its position is where the next tensor byte belongs. */
    public FileChannel channel() {
        return channel;
    }

    /** Appends bytes of tensor data. */
    public void write(ByteBuffer data) throws IOException {
        writeFully(channel, data);
    }

    /** Appends bytes of tensor data from a memory segment. */
    public void write(MemorySegment data) throws IOException {
        writeFully(channel, data.asByteBuffer());
    }

    /**
     * A second channel on the file being written, positioned at byte {@code dataOffset} of the tensor data, for a
     * writer of a later part of it beside this one's; the caller closes it and checks what it wrote.
     */
    public FileChannel channelAt(long dataOffset) throws IOException {
        if (dataOffset < 0 || dataOffset > dataLength) {
            throw new IllegalArgumentException("offset " + dataOffset + " outside the " + dataLength + " data bytes");
        }
        FileChannel lane = FileChannel.open(temporary, StandardOpenOption.WRITE);
        try {
            lane.position(Math.addExact(dataStart, dataOffset));
        } catch (IOException | RuntimeException e) {
            lane.close();
            throw e;
        }
        return lane;
    }

    /**
     * Appends {@code count} bytes of {@code source} from {@code position} at {@code target}'s position (this
     * writer's {@link #channel()} or one from {@link #channelAt}), letting the kernel copy them.
     */
    public static void transfer(FileChannel source, long position, long count, FileChannel target) throws IOException {
        long done = 0;
        while (done < count) {
            long n = source.transferTo(position + done, count - done, target);
            if (n <= 0) {
                if (position + done >= source.size()) {
                    throw new IOException("source ended at byte " + (position + done) + " while copying");
                }
                continue;
            }
            done += n;
        }
    }

    /** Checks every tensor byte was written, syncs, and moves the file to its name. */
    public void commit() throws IOException {
        commit(true);
    }

    /**
     * Checks every tensor byte was written and moves the file to its name, leaving the sync to the caller: one who
     * writes several files and syncs them all at the end lets the disk flush one while the next is written (a
     * sync after each would leave the disk idle while the next is copied).
     */
    public void commitUnsynced() throws IOException {
        commit(false);
    }

    private void commit(boolean sync) throws IOException {
        // The file's size, not this channel's position: a second channel may have written the later part.
        long written = channel.size() - dataStart;
        if (written != dataLength) {
            throw new IOException(target + ": wrote " + written + " bytes of tensor data, expected " + dataLength);
        }
        if (sync) {
            channel.force(true);
        }
        channel.close();
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        committed = true;
    }

    @Override
    public void close() throws IOException {
        if (!committed) {
            channel.close();
            Files.deleteIfExists(temporary);
        }
    }

    /** Writes all of {@code buffer} at {@code channel}'s position. */
    public static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
