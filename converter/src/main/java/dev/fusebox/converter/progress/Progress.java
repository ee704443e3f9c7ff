package dev.fusebox.converter.progress;

/**
 * How far a long piece of work has come: bytes and items (tensors, layers, tokens) done out of their totals, and
 * what it is working on now. Totals of 0 mean unknown.
 */
public record Progress(long bytesDone, long bytesTotal, int itemsDone, int itemsTotal, String current) {

    /** Done as a fraction in [0, 1], by bytes when their total is known, else by items; -1 when unknown. */
    public double fraction() {
        if (bytesTotal > 0) {
            return Math.min(1.0, (double) bytesDone / bytesTotal);
        }
        if (itemsTotal > 0) {
            return Math.min(1.0, (double) itemsDone / itemsTotal);
        }
        return -1;
    }
}
