package dev.fusebox.converter.convert;

import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;

/**
 * Counts a conversion's bytes and tensors and tells the listener, at most every few megabytes and after each
 * tensor. Synchronized: the two lanes of a large shard report to one tracker, and the listener hears one at a time.
 */
final class ProgressTracker {

    private static final long REPORT_EVERY = 16L << 20;
    private final ProgressListener listener;
    private final long bytesTotal;
    private final int itemsTotal;
    private long bytesDone;
    private long reported;
    private int itemsDone;
    private String current = "";

    ProgressTracker(ConversionPlan plan, ProgressListener listener) {
        this.listener = listener;
        this.bytesTotal = plan.targetBytes();
        this.itemsTotal = plan.targets().size();
    }

    synchronized void start(PlannedTarget t) {
        current = t.key();
    }

    synchronized void add(long n) {
        bytesDone += n;
        if (bytesDone - reported >= REPORT_EVERY) {
            report();
        }
    }

    synchronized void done() {
        itemsDone++;
        report();
    }

    synchronized void finish() {
        current = "";
        report();
    }

    private void report() {
        reported = bytesDone;
        listener.onProgress(new Progress(bytesDone, bytesTotal, itemsDone, itemsTotal, current));
    }
}
