package dev.fusebox.viewmodel.task;

import dev.fusebox.converter.progress.Progress;
import javafx.concurrent.Task;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Runs work as a JavaFX {@link Task} on a pool of daemon threads. Progress goes through the task's own
 * {@code updateProgress}/{@code updateMessage}, which JavaFX coalesces onto the UI thread however often the engine
 * reports: bytes when the work counts bytes, else items. Closing interrupts the workers, which work sees as
 * cancellation.
 */
public final class FxTaskRunner implements TaskRunner, AutoCloseable {

    private final ExecutorService executor;

    /** A runner with its own daemon threads, made as work comes. */
    public FxTaskRunner() {
        executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fusebox-worker");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public <T> void run(Work<T> work, TaskListener<T> listener) {
        ReportingTask<T> task = new ReportingTask<>(work);
        task.workDoneProperty().addListener((o, was, now) -> {
            if (now.doubleValue() >= 0) {
                listener.progressed(task.latest());
            }
        });
        task.setOnSucceeded(e -> listener.succeeded(task.getValue()));
        task.setOnFailed(e -> listener.failed(task.getException()));
        executor.execute(task);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }

    /** A task that hands the engine's progress to the task's properties. */
    private static final class ReportingTask<T> extends Task<T> {
        private final Work<T> work;
        private volatile boolean countsBytes;

        ReportingTask(Work<T> work) {
            this.work = work;
        }

        @Override
        protected T call() throws Exception {
            return work.run(p -> {
                countsBytes = p.bytesTotal() > 0;
                updateMessage(p.current() == null ? "" : p.current());
                if (countsBytes) {
                    updateProgress(p.bytesDone(), p.bytesTotal());
                } else if (p.itemsTotal() > 0) {
                    updateProgress(p.itemsDone(), p.itemsTotal());
                }
            }, () -> Thread.currentThread().isInterrupted());
        }

        /** The latest progress as the engine said it, rebuilt from the coalesced properties (UI thread). */
        Progress latest() {
            long done = (long) getWorkDone();
            long total = (long) getTotalWork();
            return countsBytes ? new Progress(done, total, 0, 0, getMessage())
                    : new Progress(0, 0, (int) done, (int) total, getMessage());
        }
    }
}
