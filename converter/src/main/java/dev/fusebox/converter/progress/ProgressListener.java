package dev.fusebox.converter.progress;

/**
 * Receives progress from engine work. Called on the working thread, often: implementations hand it on (the view
 * models adapt it to JavaFX properties) and return quickly.
 */
@FunctionalInterface
public interface ProgressListener {

    ProgressListener NONE = p -> { };

    void onProgress(Progress progress);
}
