package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.FileBytes;
import dev.fusebox.converter.tensor.TensorSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/**
 * A checkpoint's tensors as they are in its files, a range at a time through each file's channel into memory the
 * caller gives (so a pass streams a large tensor through one buffer), checked against the size each file had when
 * it was opened. Closing closes the channels and leaves the checkpoint open: its opener closes it.
 */
public final class CheckpointTensors implements TensorSource {

    private final Checkpoint checkpoint;
    private final LongAdder read = new LongAdder();
    private final Map<Path, FileChannel> channels = new HashMap<>();

    public CheckpointTensors(Checkpoint checkpoint) {
        this.checkpoint = checkpoint;
    }

    @Override
    public Path location() {
        return checkpoint.location();
    }

    @Override
    public List<TensorSpec> specs() {
        return checkpoint.specs();
    }

    @Override
    public Optional<TensorSpec> spec(String key) {
        return checkpoint.tensor(key).map(StoredTensor::spec);
    }

    @Override
    public void readInto(String key, long byteOffset, MemorySegment dst) throws FuseboxException {
        StoredTensor t = checkpoint.tensor(key).orElseThrow(() -> new FuseboxException(Problem.SHAPE_MISMATCH,
                checkpoint.location(), key, "is missing"));
        long length = dst.byteSize();
        if (byteOffset < 0 || byteOffset > t.byteSize() - length) {
            throw new IllegalArgumentException(key + ": " + length + " bytes at " + byteOffset + " are outside its "
                    + t.byteSize());
        }
        Path file = t.file().path();
        try {
            FileBytes.readInto(channel(file), file, t.file().fileSize(), Math.addExact(t.fileOffset(), byteOffset),
                    dst);
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, file, "could not be read (" + IoReason.of(e) + ")", e);
        }
        read.add(length);
    }

    private synchronized FileChannel channel(Path file) throws IOException {
        FileChannel ch = channels.get(file);
        if (ch == null) {
            ch = FileChannel.open(file, StandardOpenOption.READ);
            channels.put(file, ch);
        }
        return ch;
    }

    @Override
    public long bytesRead() {
        return read.sum();
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
