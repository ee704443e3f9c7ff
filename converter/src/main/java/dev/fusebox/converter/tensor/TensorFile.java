package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.safetensors.TensorEntry;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A file that holds tensors as contiguous byte ranges: a safetensors file, or another format read into the same
 * terms. Opening reads the index of tensors only; bytes are mapped on demand.
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

    /** The bytes of one tensor, read-only. */
    MemorySegment data(TensorEntry entry) throws FuseboxException;

    /** Releases mapped data; segments handed out before become inaccessible. */
    @Override
    void close();
}
