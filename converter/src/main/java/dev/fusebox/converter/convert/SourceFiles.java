package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.TensorFile;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The source checkpoint's files (and those of any other input a plan reads, looked up after it), opened read-only on
 * first use (the input is never written), and where each tensor's bytes start in them. Reads go through the channel, not a memory map, so resident memory stays small
 * however large the checkpoint is.
 */
final class SourceFiles implements AutoCloseable {

    private final Checkpoint checkpoint;
    private final List<Checkpoint> others;
    private final Map<Path, FileChannel> channels = new HashMap<>();

    SourceFiles(Checkpoint checkpoint) {
        this(checkpoint, List.of());
    }

    SourceFiles(Checkpoint checkpoint, List<Checkpoint> others) {
        this.checkpoint = checkpoint;
        this.others = List.copyOf(others);
    }

    private Optional<StoredTensor> find(String key) {
        Optional<StoredTensor> t = checkpoint.tensor(key);
        for (int i = 0; t.isEmpty() && i < others.size(); i++) {
            t = others.get(i).tensor(key);
        }
        return t;
    }

    /** The stored tensor for a planned source, checked to be what the plan expects. */
    StoredTensor tensor(TensorSpec planned) throws FuseboxException {
        StoredTensor t = find(planned.key()).orElseThrow(() -> new FuseboxException(
                Problem.INDEX_MISMATCH, checkpoint.location(), planned.key(),
                "the plan reads it, but the checkpoint does not hold it; plan again"));
        if (!t.spec().equals(planned)) {
            throw new FuseboxException(Problem.INDEX_MISMATCH, checkpoint.location(), planned.key(),
                    "the plan expects " + planned.dtype().name() + " " + planned.shape() + " but the checkpoint holds "
                            + t.dtype().name() + " " + t.shape() + "; plan again");
        }
        return t;
    }

    StoredTensor tensor(String key) throws FuseboxException {
        return find(key).orElseThrow(() -> new FuseboxException(Problem.INDEX_MISMATCH,
                checkpoint.location(), key, "the plan reads it, but the checkpoint does not hold it; plan again"));
    }

    /** The file's channel, opened on first use; shared by the lanes of a shard, whose reads give their position. */
    synchronized FileChannel channel(StoredTensor t) throws FuseboxException {
        Path p = t.file().path();
        FileChannel ch = channels.get(p);
        if (ch == null) {
            try {
                ch = FileChannel.open(p, StandardOpenOption.READ);
            } catch (IOException e) {
                throw new FuseboxException(Problem.IO_ERROR, p, "could not be opened (" + IoReason.of(e) + ")", e);
            }
            channels.put(p, ch);
        }
        return ch;
    }

    /**
     * The first file of {@code inputs} whose size is not what it was when opened, as the refusal that a read of it
     * past its end ({@code cause}) should be; or null. A file that shrank while being read is the input's fault, not
     * the output's being written nor the other side's of a diff.
     */
    static FuseboxException changed(List<Checkpoint> inputs, Exception cause) {
        for (Checkpoint c : inputs) {
            for (TensorFile f : c.files()) {
                long now;
                try {
                    now = Files.size(f.path());
                } catch (IOException e) {
                    now = -1;
                }
                if (now != f.fileSize()) {
                    return new FuseboxException(Problem.IO_ERROR, f.path(), "changed while being read (" + (now < 0
                            ? "it is gone" : "it is " + now + " bytes") + ", and was " + f.fileSize() + " when "
                            + "opened); nothing was written", cause);
                }
            }
        }
        return null;
    }

    static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new EOFException("the file ended at byte " + pos + " while reading tensor data");
            }
            pos += n;
        }
    }

    @Override
    public synchronized void close() {
        for (FileChannel ch : channels.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing a read-only channel cannot lose data
            }
        }
        channels.clear();
    }
}
