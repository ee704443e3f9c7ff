package dev.fusebox.viewmodel.main;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A snapshot in a Hugging Face cache as huggingface_hub lays it out (file_download.py): {@code models--ORG--NAME/
 * snapshots/REV/FILE} a relative link to {@code ../../blobs/ETAG}, {@code refs/main} holding the revision.
 */
public final class CacheSnapshot {

    private CacheSnapshot() {
    }

    /** Lays the files of {@code source} into {@code root} as snapshot {@code revision} of {@code id}. */
    public static Path of(Path root, String id, String revision, Path source) throws IOException {
        Path repo = root.resolve("models--" + id.replace("/", "--"));
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots").resolve(revision));
        int n = 0;
        try (Stream<Path> files = Files.list(source)) {
            for (Path f : files.sorted().toList()) {
                String etag = String.format("%040x", ++n);
                Files.copy(f, blobs.resolve(etag));
                Files.createSymbolicLink(snapshot.resolve(f.getFileName()), Path.of("..", "..", "blobs", etag));
            }
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs").resolve("main"), revision);
        return snapshot;
    }
}
