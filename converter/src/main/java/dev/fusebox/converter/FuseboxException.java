package dev.fusebox.converter;

import org.jspecify.annotations.Nullable;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The one checked exception of the engine: a problem a user can act on, with the file and the tensor it
 * concerns. Its message is a complete sentence that starts with the file.
 */
public final class FuseboxException extends Exception {

    private static final long serialVersionUID = 1L;
    private static final int SHOWN_KEY = 300;

    private final Problem problem;
    // Paths do not serialize; the message keeps the file's name for whoever receives a serialized copy.
    private final transient @Nullable Path file;
    private final @Nullable String key;
    private final @Nullable Remedy remedy;

    public FuseboxException(Problem problem, @Nullable Path file, @Nullable String key, String detail) {
        this(problem, file, key, detail, null, null);
    }

    public FuseboxException(Problem problem, @Nullable Path file, @Nullable String key, String detail,
                            @Nullable Throwable cause) {
        this(problem, file, key, detail, cause, null);
    }

    /** A problem that {@code remedy} answers; the sentence says what helps in words every face of Fusebox shows. */
    public FuseboxException(Problem problem, @Nullable Path file, String detail, Remedy remedy) {
        this(problem, file, null, detail, null, remedy);
    }

    /** A problem of one tensor that {@code remedy} answers. */
    public FuseboxException(Problem problem, @Nullable Path file, @Nullable String key, String detail, Remedy remedy) {
        this(problem, file, key, detail, null, remedy);
    }

    private FuseboxException(Problem problem, @Nullable Path file, @Nullable String key, String detail,
                             @Nullable Throwable cause, @Nullable Remedy remedy) {
        super(sentence(file, key, detail), cause);
        this.problem = problem;
        this.file = file;
        this.key = key;
        this.remedy = remedy;
    }

    public FuseboxException(Problem problem, @Nullable Path file, String detail) {
        this(problem, file, null, detail, null, null);
    }

    public FuseboxException(Problem problem, @Nullable Path file, String detail, @Nullable Throwable cause) {
        this(problem, file, null, detail, cause);
    }

    public Problem problem() {
        return problem;
    }

    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    public Optional<String> key() {
        return Optional.ofNullable(key);
    }

    public Optional<Remedy> remedy() {
        return Optional.ofNullable(remedy);
    }

    private static String sentence(@Nullable Path file, @Nullable String key, String detail) {
        StringBuilder s = new StringBuilder();
        if (file != null) {
            s.append(file).append(": ");
        }
        if (key != null) {
            // A valid key may run to 50 000 characters; the sentence shows its start and says how long it is.
            s.append("tensor ").append(key.length() <= SHOWN_KEY ? "'" + key + "'"
                    : "'" + key.substring(0, SHOWN_KEY) + "…' (" + key.length() + " characters)").append(": ");
        }
        s.append(detail);
        return s.toString();
    }
}
