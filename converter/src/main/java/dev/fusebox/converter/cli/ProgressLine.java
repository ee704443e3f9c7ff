package dev.fusebox.converter.cli;

import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.text.Sizes;

import java.io.Console;
import java.io.PrintWriter;
import java.util.Locale;

/** One line on a terminal's standard error, redrawn in place: percent, bytes, tensors, rate, current tensor. */
final class ProgressLine implements ProgressListener {

    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int WIDTH = 100;

    private final PrintWriter err;
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean drawn;

    private ProgressLine(PrintWriter err) {
        this.err = err;
    }

    /** A progress line when standard error is a terminal, else null (nothing to draw on). */
    // System.console() is still specified to return null when there is no console (e.g. jdk.console unset).
    @SuppressWarnings("SystemConsoleNull")
    static ProgressLine onTerminal(PrintWriter err) {
        Console console = System.console();
        return console != null && console.isTerminal() ? new ProgressLine(err) : null;
    }

    @Override
    public void onProgress(Progress p) {
        long now = System.nanoTime();
        if (drawn && now - lastDraw < REDRAW_NANOS && p.bytesDone() < p.bytesTotal()) {
            return;
        }
        lastDraw = now;
        drawn = true;
        double seconds = Math.max(1e-9, (now - start) / 1e9);
        String text = String.format(Locale.ROOT, "%3.0f%%  %s / %s · %d/%d tensors · %s/s  %s",
                Math.max(0, p.fraction()) * 100, Sizes.bytes(p.bytesDone()), Sizes.bytes(p.bytesTotal()),
                p.itemsDone(), p.itemsTotal(), Sizes.bytes((long) (p.bytesDone() / seconds)), p.current());
        if (text.length() > WIDTH) {
            text = text.substring(0, WIDTH - 1) + "…";
        }
        err.print("\r" + text + " ".repeat(WIDTH - text.length()));
        err.flush();
    }

    /** Clears the line. */
    void end() {
        if (drawn) {
            err.print("\r" + " ".repeat(WIDTH) + "\r");
            err.flush();
        }
    }
}
