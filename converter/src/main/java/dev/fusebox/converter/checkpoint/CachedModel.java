package dev.fusebox.converter.checkpoint;

import java.nio.file.Path;
import java.util.Optional;

/**
 * A model in the Hugging Face cache, as the snapshot folder it was opened from names it:
 * {@code models--ORG--NAME/snapshots/REVISION} is {@code ORG/NAME} at {@code REVISION}.
 */
public record CachedModel(String repoId, String revision, Path repoFolder) {

    /** How huggingface_hub names a model's repo folder: {@code "models--"} + the id with "/" as "--". */
    static final String REPO_PREFIX = "models--";
    static final String SEPARATOR = "--";

    /** The cached model whose snapshot {@code realFolder} (a real path) is, if it is one. */
    static Optional<CachedModel> ofSnapshot(Path realFolder) {
        Path snapshots = realFolder.getParent();
        Path repo = snapshots == null ? null : snapshots.getParent();
        if (repo == null || repo.getFileName() == null || !snapshots.getFileName().toString().equals("snapshots")) {
            return Optional.empty();
        }
        return repoId(repo).map(id -> new CachedModel(id, realFolder.getFileName().toString(), repo));
    }

    /** {@code models--ORG--NAME} → {@code ORG/NAME}; {@code models--NAME} → {@code NAME}. */
    static Optional<String> repoId(Path repoFolder) {
        String name = repoFolder.getFileName().toString();
        if (!name.startsWith(REPO_PREFIX) || name.length() == REPO_PREFIX.length()) {
            return Optional.empty();
        }
        return Optional.of(name.substring(REPO_PREFIX.length()).replace(SEPARATOR, "/"));
    }

    /** The repo folder's {@code blobs/}, where every file of a snapshot really is. */
    public Path blobs() {
        return repoFolder.resolve("blobs");
    }

    /** The snapshot folder: {@code models--ORG--NAME/snapshots/REVISION}. */
    public Path snapshot() {
        return repoFolder.resolve("snapshots").resolve(revision);
    }

    /** {@code ORG/NAME@0123abc}: the id and the revision shortened as git shortens a commit. */
    public String shortName() {
        return repoId + "@" + revision.substring(0, Math.min(7, revision.length()));
    }

    /** The model's name without its organisation, for naming what is made from it. */
    public String name() {
        return repoId.substring(repoId.lastIndexOf('/') + 1);
    }
}
