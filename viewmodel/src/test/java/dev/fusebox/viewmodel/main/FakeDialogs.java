package dev.fusebox.viewmodel.main;

import dev.fusebox.viewmodel.host.Dialogs;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/** Answers the window's questions from a queue the test fills; an empty queue is the user pressing Cancel. */
public final class FakeDialogs implements Dialogs {

    private final Deque<Path> answers = new ArrayDeque<>();

    /** No answers yet: every question is cancelled. */
    public FakeDialogs() {
    }

    public FakeDialogs answer(Path p) {
        answers.add(p);
        return this;
    }

    /** The answers no question took yet. */
    public List<Path> unanswered() {
        return List.copyOf(answers);
    }

    @Override
    public Optional<Path> chooseCheckpointFile() {
        return Optional.ofNullable(answers.poll());
    }

    @Override
    public Optional<Path> chooseCheckpointFolder() {
        return Optional.ofNullable(answers.poll());
    }

    @Override
    public Optional<Path> chooseCheckpoint(String title) {
        return Optional.ofNullable(answers.poll());
    }

    @Override
    public Optional<Path> chooseOutputFolder(String title, Path suggestion) {
        return Optional.ofNullable(answers.poll());
    }
}
