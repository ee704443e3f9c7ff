package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Tensors by key whose bytes are read a range at a time: a checkpoint's files, or a conversion read through its
 * plan without being written. A forward pass or a check reads through one only the parts it needs.
 */
public interface TensorSource extends AutoCloseable {

    /** The checkpoint it reads, or the one a conversion read through its plan comes from; for messages. */
    Path location();

    /** Every tensor, in order. */
    List<TensorSpec> specs();

    Optional<TensorSpec> spec(String key);

    /**
     * {@code byteLength} bytes of tensor {@code key} from {@code byteOffset} (counted from the tensor's first byte),
     * in memory of their own (on the heap below 2 GiB, so the garbage collector bounds what reads leave behind);
     * the range must lie inside the tensor.
     */
    default MemorySegment read(String key, long byteOffset, long byteLength) throws FuseboxException {
        MemorySegment out = byteLength < Integer.MAX_VALUE - 8
                ? MemorySegment.ofArray(new byte[(int) byteLength])
                : Arena.ofAuto().allocate(byteLength, 16);
        readInto(key, byteOffset, out);
        return out.asReadOnly();
    }

    /** Fills {@code dst} with the bytes of tensor {@code key} from {@code byteOffset}; see {@link #read}. */
    void readInto(String key, long byteOffset, MemorySegment dst) throws FuseboxException;

    /** Bytes of tensor data read from files so far. */
    long bytesRead();

    @Override
    void close();
}
