package dev.fusebox.viewmodel.main;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The checkpoints opened last, newest first, kept in a small JSON file (a list of absolute paths) in the user's
 * config directory. A file that cannot be read counts as empty; one that cannot be written leaves the list in
 * memory, since forgetting recent files is no reason to interrupt anyone.
 */
public final class RecentFiles {

    public static final int LIMIT = 10;

    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private final Path file;
    private final ObservableList<Path> paths = FXCollections.observableArrayList();
    private final ObservableList<Path> readOnly = FXCollections.unmodifiableObservableList(paths);

    private RecentFiles(Path file) {
        this.file = file;
    }

    /** The list stored in {@code file}, which need not exist yet. */
    public static RecentFiles load(Path file) {
        RecentFiles recent = new RecentFiles(file);
        if (Files.isRegularFile(file)) {
            try {
                List<String> stored = JSON.readValue(file.toFile(), new TypeReference<List<String>>() { });
                for (String s : stored) {
                    if (recent.paths.size() < LIMIT && s != null) {
                        recent.addIfValid(s);
                    }
                }
            } catch (IOException | RuntimeException e) {
                recent.paths.clear();
            }
        }
        return recent;
    }

    private void addIfValid(String s) {
        try {
            Path p = Path.of(s);
            if (p.isAbsolute() && !paths.contains(p)) {
                paths.add(p);
            }
        } catch (InvalidPathException e) {
            // An entry another system wrote; leave it out.
        }
    }

    public ObservableList<Path> paths() {
        return readOnly;
    }

    /** Puts {@code path} first (once) and saves. */
    public void add(Path path) {
        Path p = path.toAbsolutePath().normalize();
        paths.remove(p);
        paths.addFirst(p);
        if (paths.size() > LIMIT) {
            paths.remove(LIMIT, paths.size());
        }
        save();
    }

    /** Forgets {@code path} (it no longer opens) and saves. */
    public void remove(Path path) {
        if (paths.remove(path.toAbsolutePath().normalize())) {
            save();
        }
    }

    public void clear() {
        paths.clear();
        save();
    }

    private void save() {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            List<String> out = new ArrayList<>();
            paths.forEach(p -> out.add(p.toString()));
            JSON.writeValue(tmp.toFile(), out);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Kept in memory for this session; see the class comment.
        }
    }
}
