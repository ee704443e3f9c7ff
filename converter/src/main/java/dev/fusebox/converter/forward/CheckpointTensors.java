package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.safetensors.TensorSpec;
import dev.fusebox.converter.tensor.TensorSource;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/** A checkpoint's tensors as they are in its files. Closing leaves the checkpoint open: its opener closes it. */
public final class CheckpointTensors implements TensorSource {

    private final Checkpoint checkpoint;
    private final LongAdder read = new LongAdder();

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
    public MemorySegment read(String key, long byteOffset, long byteLength) throws FuseboxException {
        StoredTensor t = checkpoint.tensor(key).orElseThrow(() -> new FuseboxException(Problem.SHAPE_MISMATCH,
                checkpoint.location(), key, "is missing"));
        if (byteOffset < 0 || byteLength < 0 || byteOffset > t.byteSize() - byteLength) {
            throw new IllegalArgumentException(key + ": " + byteLength + " bytes at " + byteOffset + " are outside its "
                    + t.byteSize());
        }
        MemorySegment bytes = t.data(byteOffset, byteLength);
        read.add(byteLength);
        return bytes;
    }

    @Override
    public long bytesRead() {
        return read.sum();
    }

    @Override
    public void close() {
    }
}
