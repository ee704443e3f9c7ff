package dev.fusebox.viewmodel.task;

/** Runs work at once on the calling thread and reports every progress step: for tests and for tools. */
public final class SynchronousTaskRunner implements TaskRunner {

    /** A runner without threads. */
    public SynchronousTaskRunner() {
    }

    @Override
    public <T> void run(Work<T> work, TaskListener<T> listener) {
        T value;
        try {
            value = work.run(listener::progressed, () -> Thread.currentThread().isInterrupted());
        } catch (Exception | Error e) {
            listener.failed(e);
            return;
        }
        listener.succeeded(value);
    }
}
