package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorFile;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.converter.tensor.TensorSpec;

import java.lang.foreign.MemorySegment;

/** A tensor of a checkpoint and the file that holds its bytes. */
public record StoredTensor(TensorFile file, TensorEntry entry) {

    public String key() {
        return entry.key();
    }

    public Dtype dtype() {
        return entry.dtype();
    }

    public Shape shape() {
        return entry.shape();
    }

    public TensorSpec spec() {
        return entry.spec();
    }

    public long byteSize() {
        return entry.byteSize();
    }

    /** The absolute offset of the first byte in {@link #file()}. */
    public long fileOffset() {
        return file.fileOffset(entry);
    }

    /** The bytes, read into memory of their own. */
    public MemorySegment data() throws FuseboxException {
        return file.data(entry);
    }

    /** {@code byteLength} of the bytes from {@code byteOffset}, read into memory of their own. */
    public MemorySegment data(long byteOffset, long byteLength) throws FuseboxException {
        return file.data(entry, byteOffset, byteLength);
    }
}
