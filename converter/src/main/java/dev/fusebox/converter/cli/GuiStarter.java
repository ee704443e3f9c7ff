package dev.fusebox.converter.cli;

import java.nio.file.Path;
import java.util.List;

/** Opens the desktop app; supplied by the app module, which the converter does not know. */
@FunctionalInterface
public interface GuiStarter {

    /** Opens the GUI on {@code paths} (the bundled sample when empty) and returns the process exit code. */
    int start(List<Path> paths);
}
