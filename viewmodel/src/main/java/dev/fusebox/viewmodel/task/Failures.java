package dev.fusebox.viewmodel.task;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.rules.RunawayPatternException;

/** Turns whatever background work threw into a sentence for the user. */
public final class Failures {

    private Failures() {
    }

    public static boolean isCancellation(Throwable t) {
        return (t instanceof FuseboxException fe && fe.problem() == Problem.CANCELLED)
                || t instanceof InterruptedException;
    }

    /**
     * The engine's own sentence for its problems (a user's rule that runs away among them); anything else named
     * as unexpected, with its type.
     */
    public static String sentence(Throwable t) {
        if (t instanceof FuseboxException || t instanceof RunawayPatternException) {
            return period(t.getMessage());
        }
        String m = t.getMessage();
        String what = t.getClass().getSimpleName();
        return "Unexpected error (" + what + ")" + (m == null || m.isBlank() ? "." : ": " + period(m));
    }

    private static String period(String s) {
        String m = s.strip();
        int nl = m.indexOf('\n');
        if (nl >= 0) {
            m = m.substring(0, nl);
        }
        return m.endsWith(".") ? m : m + ".";
    }
}
