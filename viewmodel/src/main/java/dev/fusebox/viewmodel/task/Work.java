package dev.fusebox.viewmodel.task;

import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;

/** A piece of engine work to run off the UI thread: it reports progress and asks whether to stop. */
@FunctionalInterface
public interface Work<T> {

    T run(ProgressListener progress, Cancellation cancellation) throws Exception;
}
