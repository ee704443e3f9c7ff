package dev.fusebox.viewmodel.main;

import java.nio.file.Path;
import java.util.Optional;

/** The questions a view model asks the user through the window's file choosers; tests answer them with fakes. */
public interface Dialogs {

    /** A .safetensors or index file to open. */
    Optional<Path> chooseCheckpointFile();

    /** A checkpoint or adapter folder to open. */
    Optional<Path> chooseCheckpointFolder();

    /** A folder to write into; {@code suggestion} is where the chooser starts. */
    Optional<Path> chooseOutputFolder(String title, Path suggestion);
}
