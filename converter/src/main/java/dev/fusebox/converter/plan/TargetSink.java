package dev.fusebox.converter.plan;

import dev.fusebox.converter.FuseboxException;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Where a computed target's bytes go, in order; each call also checks for cancellation and reports progress. */
public interface TargetSink {

    /** Appends the remaining bytes of {@code bytes}. */
    void write(ByteBuffer bytes) throws IOException, FuseboxException;

    /** Bytes still to write. */
    long remaining();
}
