package dev.fusebox.viewmodel.task;

import dev.fusebox.converter.text.Sizes;
import dev.fusebox.converter.progress.Progress;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * One kind of background work a screen runs (convert, verify, statistics) and what the screen shows about it:
 * busy, progress, rate, time left, the item at work, the outcome. Starting it again supersedes the run in
 * flight: that one is asked to stop and whatever it reports afterwards is ignored. All methods run on the UI
 * thread.
 */
public final class Job {

    /** Where the latest run stands. */
    public enum State { IDLE, RUNNING, SUCCEEDED, FAILED, CANCELLED }

    private static final double NANOS = 1e9;
    /** What a cancelled run leaves on screen: every engine writes under a temporary name, removed on cancel. */
    public static final String CANCELLED_TEXT = "Cancelled — nothing written.";

    private final TaskRunner runner;
    private final LongSupplier nanoTime;
    private final ReadOnlyObjectWrapper<State> state = new ReadOnlyObjectWrapper<>(this, "state", State.IDLE);
    private final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper(this, "busy");
    private final ReadOnlyStringWrapper title = new ReadOnlyStringWrapper(this, "title", "");
    private final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper(this, "progress", 0);
    private final ReadOnlyStringWrapper percentText = new ReadOnlyStringWrapper(this, "percentText", "");
    private final ReadOnlyStringWrapper rateText = new ReadOnlyStringWrapper(this, "rateText", "");
    private final ReadOnlyStringWrapper timeLeftText = new ReadOnlyStringWrapper(this, "timeLeftText", "");
    private final ReadOnlyStringWrapper current = new ReadOnlyStringWrapper(this, "current", "");
    private final ReadOnlyStringWrapper failure = new ReadOnlyStringWrapper(this, "failure", "");

    private long generation;
    private AtomicBoolean stop = new AtomicBoolean();
    private long startedAt;

    public Job(TaskRunner runner) {
        this(runner, System::nanoTime);
    }

    /** A job that reads time from {@code nanoTime} (tests give it a clock they move). */
    public Job(TaskRunner runner, LongSupplier nanoTime) {
        this.runner = runner;
        this.nanoTime = nanoTime;
    }

    /**
     * Runs {@code work}; {@code onSuccess} gets its value, {@code onFailure} the sentence for the user when it
     * fails (not when it is cancelled or superseded).
     */
    public <T> void start(String what, Work<T> work, Consumer<? super T> onSuccess, Consumer<String> onFailure) {
        stop.set(true);
        AtomicBoolean mine = new AtomicBoolean();
        stop = mine;
        long run = ++generation;
        title.set(what);
        failure.set("");
        current.set("");
        progress.set(-1);
        percentText.set("");
        rateText.set("");
        timeLeftText.set("");
        startedAt = nanoTime.getAsLong();
        state.set(State.RUNNING);
        busy.set(true);
        runner.run((p, c) -> work.run(p, () -> mine.get() || c.isCancelled()), new TaskListener<T>() {
            @Override
            public void progressed(Progress p) {
                if (run == generation && !mine.get()) {
                    show(p);
                }
            }

            @Override
            public void succeeded(T value) {
                if (run == generation) {
                    timeLeftText.set("");
                    percentText.set("100 %");
                    progress.set(1);
                    finish(State.SUCCEEDED);
                    onSuccess.accept(value);
                }
            }

            @Override
            public void failed(Throwable error) {
                if (run != generation) {
                    return;
                }
                if (mine.get() || Failures.isCancellation(error)) {
                    finish(State.CANCELLED);
                    return;
                }
                finish(State.FAILED);
                String sentence = Failures.sentence(error);
                failure.set(sentence);
                onFailure.accept(sentence);
            }
        });
    }

    /**
     * Asks the run in flight to stop at its next check, saying so at once; the job then ends as cancelled, its
     * progress emptied and {@link #CANCELLED_TEXT} shown.
     */
    public void cancel() {
        stop.set(true);
        if (busy.get()) {
            current.set("Cancelling …");
            timeLeftText.set("");
        }
    }

    /**
     * Forgets the latest run, as if none had started (what a screen does when what is open changes): the run in
     * flight is asked to stop and whatever it reports afterwards is ignored.
     */
    public void reset() {
        stop.set(true);
        generation++;
        title.set("");
        failure.set("");
        clearProgress();
        busy.set(false);
        state.set(State.IDLE);
    }

    private void clearProgress() {
        current.set("");
        progress.set(0);
        percentText.set("");
        rateText.set("");
        timeLeftText.set("");
    }

    private void finish(State end) {
        if (end == State.CANCELLED) {
            clearProgress();
            current.set(CANCELLED_TEXT);
        }
        busy.set(false);
        state.set(end);
    }

    /** Rate and time left first, fraction last: whoever watches the fraction sees the rest already updated. */
    private void show(Progress p) {
        double fraction = p.fraction();
        current.set(p.current() == null ? "" : p.current());
        double elapsed = (nanoTime.getAsLong() - startedAt) / NANOS;
        if (elapsed > 0 && p.bytesTotal() > 0) {
            double rate = p.bytesDone() / elapsed;
            rateText.set(Sizes.bytes((long) rate) + "/s");
        }
        if (elapsed > 0 && fraction > 0) {
            double left = elapsed * (1 - fraction) / fraction;
            timeLeftText.set(fraction >= 1 ? "" : describeTimeLeft(left));
        }
        percentText.set(fraction < 0 ? "" : (int) Math.floor(fraction * 100) + " %");
        progress.set(fraction);
    }

    /** {@code 75} → "about 1 min 15 s left". */
    static String describeTimeLeft(double seconds) {
        if (seconds < 1) {
            return "less than a second left";
        }
        long s = Math.round(seconds);
        if (s < 60) {
            return "about " + s + " s left";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "about %d min %d s left", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "about %d h %d min left", s / 3600, s % 3600 / 60);
    }

    public ReadOnlyObjectProperty<State> stateProperty() {
        return state.getReadOnlyProperty();
    }

    public State getState() {
        return state.get();
    }

    public ReadOnlyBooleanProperty busyProperty() {
        return busy.getReadOnlyProperty();
    }

    public boolean isBusy() {
        return busy.get();
    }

    /** What is running or ran last ("Converting legacy-base to v5"). */
    public ReadOnlyStringProperty titleProperty() {
        return title.getReadOnlyProperty();
    }

    /** Done in [0, 1]; -1 while unknown (an indeterminate bar). */
    public ReadOnlyDoubleProperty progressProperty() {
        return progress.getReadOnlyProperty();
    }

    public double getProgress() {
        return progress.get();
    }

    public ReadOnlyStringProperty percentTextProperty() {
        return percentText.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty rateTextProperty() {
        return rateText.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty timeLeftTextProperty() {
        return timeLeftText.getReadOnlyProperty();
    }

    /** The item at work (a tensor key, a layer). */
    public ReadOnlyStringProperty currentProperty() {
        return current.getReadOnlyProperty();
    }

    /** The sentence of the last failure, empty unless the state is FAILED. */
    public ReadOnlyStringProperty failureProperty() {
        return failure.getReadOnlyProperty();
    }
}
