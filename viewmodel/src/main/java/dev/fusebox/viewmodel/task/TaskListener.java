package dev.fusebox.viewmodel.task;

import dev.fusebox.converter.progress.Progress;

/** What a {@link TaskRunner} tells about one piece of work, always on the UI thread. */
public interface TaskListener<T> {

    /** The latest progress; intermediate reports may be skipped when they come faster than the UI takes them. */
    void progressed(Progress progress);

    void succeeded(T value);

    /** The work threw, or was cancelled (a {@code FuseboxException} with {@code Problem.CANCELLED}). */
    void failed(Throwable error);
}
