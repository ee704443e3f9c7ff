package dev.fusebox.converter.plan;

import dev.fusebox.converter.FuseboxException;

import java.io.IOException;

/**
 * Code that writes one target tensor: it reads what it needs of its sources and writes the target's bytes, in
 * order and in bounded chunks, to the sink. The executor checks that exactly the target's size was written.
 */
@FunctionalInterface
public interface TensorComputation {

    void write(SourceReader sources, TargetSink target) throws IOException, FuseboxException;
}
