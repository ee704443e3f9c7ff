package dev.fusebox.converter.progress;

/**
 * Receives progress from engine work. Called on the working thread, often: implementations hand it on (the view
 * models adapt it to JavaFX properties) and return quickly.
 */
@FunctionalInterface
public interface ProgressListener {

    ProgressListener NONE = p -> { };

    void onProgress(Progress progress);

    /**
     * This listener told of one part of a larger piece of work, as progress of the whole: the part's bytes come
     * after the {@code before} bytes of the parts done already, out of {@code total}.
     */
    default ProgressListener offset(long before, long total) {
        return p -> onProgress(new Progress(before + p.bytesDone(), total, p.itemsDone(), p.itemsTotal(),
                p.current()));
    }
}
