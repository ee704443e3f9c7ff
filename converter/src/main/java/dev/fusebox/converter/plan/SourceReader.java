package dev.fusebox.converter.plan;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.tensor.TensorSpec;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Read access to the source tensors of a computed target, by key; byte offsets count from a tensor's start. */
public interface SourceReader {

    TensorSpec spec(String key) throws FuseboxException;

    /** Fills {@code dst} (up to its limit) with the bytes of {@code key} from {@code offset}. */
    void read(String key, long offset, ByteBuffer dst) throws IOException, FuseboxException;
}
