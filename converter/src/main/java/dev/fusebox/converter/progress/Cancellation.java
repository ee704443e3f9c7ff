package dev.fusebox.converter.progress;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;

/** Cooperative cancellation: engine work asks between steps (tensors, buffers, layers) whether to stop. */
@FunctionalInterface
public interface Cancellation {

    Cancellation NEVER = () -> false;

    boolean isCancelled();

    /** Throws {@link Problem#CANCELLED} when cancellation was asked for. */
    default void check() throws FuseboxException {
        if (isCancelled()) {
            throw new FuseboxException(Problem.CANCELLED, null, "cancelled");
        }
    }
}
