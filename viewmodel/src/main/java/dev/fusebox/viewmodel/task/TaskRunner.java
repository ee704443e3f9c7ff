package dev.fusebox.viewmodel.task;

/**
 * Runs engine work in the background and reports back on the UI thread. The app runs work in a JavaFX
 * {@link javafx.concurrent.Task} ({@link FxTaskRunner}); tests run it on the calling thread
 * ({@link SynchronousTaskRunner}), so view models are tested without a toolkit and without waiting.
 */
public interface TaskRunner {

    /** Starts {@code work}; its progress and outcome go to {@code listener}. */
    <T> void run(Work<T> work, TaskListener<T> listener);
}
