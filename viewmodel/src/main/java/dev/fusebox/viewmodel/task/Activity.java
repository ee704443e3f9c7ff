package dev.fusebox.viewmodel.task;

import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What the status bar shows about background work: the job started last among those running, its progress, and
 * a Cancel that stops it. The screens' jobs are tracked here as they are created.
 */
public final class Activity {

    private final List<Job> running = new ArrayList<>();
    private final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper(this, "busy");
    private final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper(this, "progress");
    private final ReadOnlyStringWrapper text = new ReadOnlyStringWrapper(this, "text", "");

    /** Follows no job until told to. */
    public Activity() {
    }

    /** Follows {@code job} from now on. */
    public void track(Job job) {
        job.busyProperty().addListener((o, was, now) -> {
            running.remove(job);
            if (now) {
                running.add(job);
            }
            refresh();
        });
        Stream.of(job.progressProperty(), job.percentTextProperty(), job.rateTextProperty(),
                job.timeLeftTextProperty()).forEach(p -> p.addListener((o, a, b) -> {
                    if (!running.isEmpty() && running.getLast() == job) {
                        refresh();
                    }
                }));
    }

    private void refresh() {
        if (running.isEmpty()) {
            busy.set(false);
            progress.set(0);
            text.set("");
            return;
        }
        Job j = running.getLast();
        progress.set(j.getProgress());
        text.set(Stream.of(j.titleProperty().get(), j.percentTextProperty().get(), j.rateTextProperty().get(),
                        j.timeLeftTextProperty().get())
                .filter(s -> !s.isEmpty()).collect(Collectors.joining(" · ")));
        busy.set(true);
    }

    /** Stops the job started last among those running. */
    public void cancel() {
        if (!running.isEmpty()) {
            running.getLast().cancel();
        }
    }

    public ReadOnlyBooleanProperty busyProperty() {
        return busy.getReadOnlyProperty();
    }

    /** Progress of the job shown, in [0, 1], or -1 while unknown; 0 when none runs. */
    public ReadOnlyDoubleProperty progressProperty() {
        return progress.getReadOnlyProperty();
    }

    /** "Converting legacy-base to v5 · 42 % · 310 MiB/s · about 3 s left". */
    public ReadOnlyStringProperty textProperty() {
        return text.getReadOnlyProperty();
    }
}
