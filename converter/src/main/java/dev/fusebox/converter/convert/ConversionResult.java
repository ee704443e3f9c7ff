package dev.fusebox.converter.convert;

import java.nio.file.Path;
import java.util.List;

/**
 * What a conversion wrote: the output (a directory, or a single file), its weight files, the companion files
 * copied beside them, and how many tensors and bytes, in how long.
 */
public record ConversionResult(Path output, List<Path> weightFiles, List<Path> companions, int tensors, long bytes,
                               long nanos) {

    public ConversionResult {
        weightFiles = List.copyOf(weightFiles);
        companions = List.copyOf(companions);
    }

    /** Bytes per second of tensor data. */
    public double bytesPerSecond() {
        return nanos == 0 ? 0 : bytes * 1e9 / nanos;
    }
}
