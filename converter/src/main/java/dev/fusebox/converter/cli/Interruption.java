package dev.fusebox.converter.cli;

import dev.fusebox.converter.progress.Cancellation;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Ctrl-C during a command that writes files: asks the work to stop (it checks this cancellation between steps)
 * and holds the JVM's exit a moment, until {@link #close()}, so the work can remove what it wrote.
 */
final class Interruption implements Cancellation, AutoCloseable {

    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final CountDownLatch finished = new CountDownLatch(1);
    private final Thread hook = new Thread(this::interrupted);

    private Interruption() {
    }

    /** Watches for Ctrl-C until closed. */
    static Interruption watch() {
        Interruption i = new Interruption();
        Runtime.getRuntime().addShutdownHook(i.hook);
        return i;
    }

    private void interrupted() {
        cancelled.set(true);
        try {
            finished.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isCancelled() {
        return cancelled.get();
    }

    /** The work is over (done, failed or cleaned up after a cancel): the JVM may exit. */
    @Override
    public void close() {
        finished.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the JVM is exiting (Ctrl-C); the hook is already running
        }
    }
}
