package dev.fusebox.viewmodel.task;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.rules.Renaming;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class JobTest {

    private final AtomicLong clock = new AtomicLong();
    private final Job job = new Job(new SynchronousTaskRunner(), clock::get);
    private final List<Object> results = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();

    @Test
    void progressBecomesAFractionARateAndATimeLeft() {
        List<String> seen = new ArrayList<>();
        job.percentTextProperty().addListener((o, a, b) -> seen.add(b + " | " + job.rateTextProperty().get()
                + " | " + job.timeLeftTextProperty().get()));
        job.start("copy", (progress, cancel) -> {
            clock.set(1_000_000_000L);
            progress.onProgress(new Progress(1 << 20, 4 << 20, 1, 4, "a"));
            clock.set(2_000_000_000L);
            progress.onProgress(new Progress(2 << 20, 4 << 20, 2, 4, "b"));
            return "done";
        }, results::add, failures::add);
        // 1 MiB in 1 s: a quarter done, 3 s to go; then 2 MiB in 2 s: half done, 2 s to go.
        assertThat(seen).containsExactly("25 % | 1.00 MiB/s | about 3 s left", "50 % | 1.00 MiB/s | about 2 s left",
                "100 % | 1.00 MiB/s | ");
        assertThat(results).containsExactly("done");
        assertThat(job.getState()).isEqualTo(Job.State.SUCCEEDED);
        assertThat(job.isBusy()).isFalse();
        assertThat(job.getProgress()).isEqualTo(1.0);
    }

    @Test
    void busyHoldsWhileTheWorkRuns() {
        List<Boolean> busyDuringWork = new ArrayList<>();
        job.start("x", (progress, cancel) -> busyDuringWork.add(job.isBusy()), results::add, failures::add);
        assertThat(busyDuringWork).containsExactly(true);
        assertThat(job.isBusy()).isFalse();
    }

    @Test
    void aFailureBecomesTheEnginesSentence() {
        job.start("x", (progress, cancel) -> {
            throw new FuseboxException(Problem.IO_ERROR, java.nio.file.Path.of("out/a.safetensors"), "disk full");
        }, results::add, failures::add);
        assertThat(failures).containsExactly("out/a.safetensors: disk full.");
        assertThat(job.getState()).isEqualTo(Job.State.FAILED);
        assertThat(job.failureProperty().get()).isEqualTo("out/a.safetensors: disk full.");
    }

    @Test
    void aUsersRuleThatRunsAwayIsItsOwnSentenceAndAnythingElseUnexpected() {
        Renaming runaway = Renaming.of("^(\\w+\\.?)*?x$", "y", Optional.empty(), true);
        job.start("x", (progress, cancel) -> runaway.apply("model.layers.0.mlp.gate.weight"), results::add,
                failures::add);
        job.start("y", (progress, cancel) -> {
            throw new IllegalStateException("a bug");
        }, results::add, failures::add);
        assertThat(failures).containsExactly("the renaming '^(\\w+\\.?)*?x$' → 'y' gave up on the key "
                        + "'model.layers.0.mlp.gate.weight': its pattern backtracks without end (nested repetition "
                        + "such as (\\w+\\.?)*?); rewrite it without nesting repetitions.",
                "Unexpected error (IllegalStateException): a bug.");
    }

    @Test
    void cancellingMidwayStopsAtTheNextCheckAndReportsNoFailure() {
        job.progressProperty().addListener((o, a, b) -> {
            if (b.doubleValue() >= 0.5) {
                job.cancel();
            }
        });
        List<Integer> steps = new ArrayList<>();
        job.start("x", (progress, cancel) -> {
            for (int i = 1; i <= 4; i++) {
                cancel.check();
                steps.add(i);
                progress.onProgress(new Progress(i, 4, 0, 0, ""));
            }
            return "finished";
        }, results::add, failures::add);
        assertThat(steps).containsExactly(1, 2);
        assertThat(job.getState()).isEqualTo(Job.State.CANCELLED);
        assertThat(results).isEmpty();
        assertThat(failures).isEmpty();
        assertThat(job.isBusy()).isFalse();
    }

    @Test
    void cancellingSaysSoAtOnceThenThatNothingWasWrittenWithNoProgressLeftStanding() {
        List<String> said = new ArrayList<>();
        job.start("x", (progress, cancel) -> {
            progress.onProgress(new Progress(13, 100, 0, 0, "model.layers.3.mlp.experts.gate_up_proj"));
            job.cancel();
            said.add(job.currentProperty().get());
            // A step the engine reports after the cancel, before its next check, moves nothing on screen.
            progress.onProgress(new Progress(14, 100, 0, 0, "model.layers.3.mlp.experts.down_proj"));
            said.add(job.percentTextProperty().get());
            cancel.check();
            return "finished";
        }, results::add, failures::add);
        assertThat(said).containsExactly("Cancelling …", "13 %");
        assertThat(job.getState()).isEqualTo(Job.State.CANCELLED);
        assertThat(job.currentProperty().get()).isEqualTo("Cancelled — nothing written.");
        assertThat(job.percentTextProperty().get()).isEmpty();
        assertThat(job.getProgress()).isZero();
        assertThat(job.timeLeftTextProperty().get()).isEmpty();
    }

    @Test
    void resetForgetsTheLastRunAndIgnoresTheOneInFlight() {
        DelayingRunner runner = new DelayingRunner();
        Job j = new Job(runner, clock::get);
        j.start("first", (p, c) -> "first", results::add, failures::add);
        runner.finish(0);
        assertThat(j.percentTextProperty().get()).isEqualTo("100 %");
        j.start("second", (p, c) -> "second", results::add, failures::add);
        j.reset();
        assertThat(j.getState()).isEqualTo(Job.State.IDLE);
        assertThat(j.isBusy()).isFalse();
        assertThat(j.percentTextProperty().get()).isEmpty();
        assertThat(j.getProgress()).isZero();
        assertThat(j.titleProperty().get()).isEmpty();
        runner.finish(1);
        assertThat(results).containsExactly("first");
        assertThat(j.getState()).isEqualTo(Job.State.IDLE);
    }

    @Test
    void aNewRunSupersedesTheOneInFlight() {
        DelayingRunner runner = new DelayingRunner();
        Job j = new Job(runner, clock::get);
        List<Cancellation> asked = new ArrayList<>();
        j.start("first", (p, c) -> {
            asked.add(c);
            return "first";
        }, results::add, failures::add);
        j.start("second", (p, c) -> {
            asked.add(c);
            return "second";
        }, results::add, failures::add);
        assertThat(asked.getFirst().isCancelled()).isTrue();
        assertThat(asked.getLast().isCancelled()).isFalse();
        runner.finish(0);
        assertThat(results).isEmpty();
        runner.finish(1);
        assertThat(results).containsExactly("second");
        assertThat(j.titleProperty().get()).isEqualTo("second");
    }

    @Test
    void timeLeftReadsAsPeopleSayIt() {
        assertThat(Job.describeTimeLeft(0.4)).isEqualTo("less than a second left");
        assertThat(Job.describeTimeLeft(75)).isEqualTo("about 1 min 15 s left");
        assertThat(Job.describeTimeLeft(7300)).isEqualTo("about 2 h 1 min left");
    }

    /** Runs work at once but reports its outcome only when the test says, as a background runner would later. */
    private static final class DelayingRunner implements TaskRunner {
        private final List<Runnable> outcomes = new ArrayList<>();

        @Override
        public <T> void run(Work<T> work, TaskListener<T> listener) {
            try {
                T value = work.run(p -> { }, () -> false);
                outcomes.add(() -> listener.succeeded(value));
            } catch (Exception e) {
                outcomes.add(() -> listener.failed(e));
            }
        }

        void finish(int run) {
            outcomes.get(run).run();
        }
    }
}
