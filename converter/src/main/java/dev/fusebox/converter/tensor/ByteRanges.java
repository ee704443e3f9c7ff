package dev.fusebox.converter.tensor;

import dev.fusebox.converter.FuseboxException;

import java.lang.foreign.MemorySegment;

/** A tensor's bytes, read a range at a time, so that a pass over a large tensor holds one chunk of it at once. */
@FunctionalInterface
public interface ByteRanges {

    /** {@code byteLength} bytes from {@code byteOffset}. */
    MemorySegment read(long byteOffset, long byteLength) throws FuseboxException;

    /** Ranges of bytes already in memory. */
    static ByteRanges of(MemorySegment data) {
        return data::asSlice;
    }
}
