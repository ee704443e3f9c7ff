package dev.fusebox.viewmodel.main;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Where the bundled sample is on disk (the app extracts it from its jar on first use). */
@FunctionalInterface
public interface SampleSource {

    /** The sample's checkpoints, model first; may extract them, so it runs in the background. */
    List<Path> paths() throws IOException;
}
