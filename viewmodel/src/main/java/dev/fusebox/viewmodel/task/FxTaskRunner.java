package dev.fusebox.viewmodel.task;

import dev.fusebox.converter.progress.Progress;
import javafx.application.Platform;
import javafx.concurrent.Task;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs work as a JavaFX {@link Task} on a pool of daemon threads. Progress is coalesced: the worker only records
 * the latest report, and the UI thread picks it up when it gets to it, however often the engine reports. Closing
 * interrupts the workers, which work sees as cancellation.
 */
public final class FxTaskRunner implements TaskRunner, AutoCloseable {

    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fusebox-worker");
        t.setDaemon(true);
        return t;
    });

    @Override
    public <T> void run(Work<T> work, TaskListener<T> listener) {
        AtomicReference<Progress> latest = new AtomicReference<>();
        Task<T> task = new Task<>() {
            @Override
            protected T call() throws Exception {
                return work.run(p -> {
                    if (latest.getAndSet(p) == null) {
                        Platform.runLater(() -> deliver(latest, listener));
                    }
                }, () -> Thread.currentThread().isInterrupted());
            }
        };
        task.setOnSucceeded(e -> {
            deliver(latest, listener);
            listener.succeeded(task.getValue());
        });
        task.setOnFailed(e -> listener.failed(task.getException()));
        executor.execute(task);
    }

    private static void deliver(AtomicReference<Progress> latest, TaskListener<?> listener) {
        Progress p = latest.getAndSet(null);
        if (p != null) {
            listener.progressed(p);
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
