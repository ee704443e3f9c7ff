package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A file that holds tensors as contiguous byte ranges: a safetensors file, or another format read into the same
 * terms. Opening reads the index of tensors only; bytes are read on demand.
 */
public interface TensorFile extends AutoCloseable {

    Path path();

    long fileSize();

    /** The file's string metadata (empty where the format has none). */
    Map<String, String> metadata();

    /** Tensors in the order of their data in the file. */
    List<TensorEntry> tensors();

    Optional<TensorEntry> tensor(String key);

    /** The absolute file offset of a tensor's first byte. */
    long fileOffset(TensorEntry entry);

    /**
     * The bytes of one tensor, read once into memory of their own and kept until {@link #close()}: asking again
     * costs nothing. A pass over a large tensor that needs only part of it at a time reads ranges instead.
     */
    MemorySegment data(TensorEntry entry) throws FuseboxException;

    /** {@code byteLength} bytes of one tensor from its byte {@code byteOffset}, read into memory of their own (not kept). */
    default MemorySegment data(TensorEntry entry, long byteOffset, long byteLength) throws FuseboxException {
        if (byteOffset < 0 || byteLength < 0 || Math.addExact(byteOffset, byteLength) > entry.byteSize()) {
            throw new IllegalArgumentException("bytes [" + byteOffset + ", +" + byteLength + ") are outside "
                    + entry.key() + " (" + entry.byteSize() + " bytes)");
        }
        return read(Math.addExact(fileOffset(entry), byteOffset), byteLength);
    }

    /** {@code length} bytes of the file from {@code fileOffset}, read into memory of their own. */
    MemorySegment read(long fileOffset, long length) throws FuseboxException;

    /** Lets go of the tensors {@link #data(TensorEntry)} kept; segments handed out before stay readable. */
    @Override
    void close();
}
