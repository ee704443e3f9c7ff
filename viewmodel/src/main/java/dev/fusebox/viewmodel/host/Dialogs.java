package dev.fusebox.viewmodel.host;

import java.nio.file.Path;
import java.util.Optional;

/** The questions a view model asks the user through the window's file choosers; tests answer them with fakes. */
public interface Dialogs {

    /** A .safetensors or index file to open. */
    Optional<Path> chooseCheckpointFile();

    /** A checkpoint or adapter folder to open. */
    Optional<Path> chooseCheckpointFolder();

    /**
     * A checkpoint to compare with, file or folder in one chooser: a .safetensors, .bin or index file, or any
     * other file of a checkpoint folder (its config.json) for the folder.
     */
    Optional<Path> chooseCheckpoint(String title);

    /** A folder to write into; {@code suggestion} is where the chooser starts. */
    Optional<Path> chooseOutputFolder(String title, Path suggestion);
}
