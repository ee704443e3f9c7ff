package dev.fusebox.app.main;

import dev.fusebox.viewmodel.host.Dialogs;
import javafx.stage.DirectoryChooser;
import javafx.stage.FileChooser;
import javafx.stage.Window;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** The window's file and folder choosers, starting where the user was last. */
public final class FxDialogs implements Dialogs {

    private final Window owner;
    private Path lastDirectory;

    public FxDialogs(Window owner) {
        this.owner = owner;
    }

    @Override
    public Optional<Path> chooseCheckpointFile() {
        FileChooser chooser = new FileChooser();
        chooser.setTitle("Open a safetensors file or index");
        chooser.getExtensionFilters().addAll(
                new FileChooser.ExtensionFilter("Safetensors and indexes", "*.safetensors", "*.index.json"),
                new FileChooser.ExtensionFilter("All files", "*"));
        start(chooser::setInitialDirectory);
        return remember(chooser.showOpenDialog(owner));
    }

    @Override
    public Optional<Path> chooseCheckpointFolder() {
        DirectoryChooser chooser = new DirectoryChooser();
        chooser.setTitle("Open a checkpoint or adapter folder");
        start(chooser::setInitialDirectory);
        return remember(chooser.showDialog(owner));
    }

    /** A file chooser, since a folder chooser shows no files: a folder is picked by a file in it. */
    @Override
    public Optional<Path> chooseCheckpoint(String title) {
        FileChooser chooser = new FileChooser();
        chooser.setTitle(title);
        chooser.getExtensionFilters().addAll(
                new FileChooser.ExtensionFilter("Checkpoints: a weights or index file, or a folder's config.json",
                        "*.safetensors", "*.bin", "*.index.json", "config.json", "adapter_config.json"),
                new FileChooser.ExtensionFilter("All files", "*"));
        start(chooser::setInitialDirectory);
        return remember(chooser.showOpenDialog(owner));
    }

    /**
     * The folder to write into. With the system property {@code fusebox.output} set, that folder, without asking:
     * for unattended runs (docs/screenshots.sh converts this way).
     */
    @Override
    public Optional<Path> chooseOutputFolder(String title, Path suggestion) {
        String unattended = System.getProperty("fusebox.output");
        if (unattended != null && !unattended.isBlank()) {
            return Optional.of(Path.of(unattended));
        }
        DirectoryChooser chooser = new DirectoryChooser();
        chooser.setTitle(title);
        Path start = suggestion != null && Files.isDirectory(suggestion) ? suggestion : lastDirectory;
        if (start != null && Files.isDirectory(start)) {
            chooser.setInitialDirectory(start.toFile());
        }
        return remember(chooser.showDialog(owner));
    }

    private void start(java.util.function.Consumer<File> setInitial) {
        if (lastDirectory != null && Files.isDirectory(lastDirectory)) {
            setInitial.accept(lastDirectory.toFile());
        }
    }

    private Optional<Path> remember(File chosen) {
        if (chosen == null) {
            return Optional.empty();
        }
        Path p = chosen.toPath();
        // Start next time beside what was chosen: the folder holding the file, or the folder's parent.
        lastDirectory = p.getParent() != null ? p.getParent() : p;
        return Optional.of(p);
    }
}
