package dev.fusebox.viewmodel.browse;

import java.util.List;

/** Which tensors correspond across a conversion, asked from either side. */
@FunctionalInterface
public interface TensorLinks {

    /** Nothing corresponds: there is no conversion (a checkpoint without experts, or no rule for its family). */
    TensorLinks NONE = (side, key) -> List.of();

    /** The tensors on the other side that {@code key}, a tensor on {@code side}, becomes or comes from. */
    List<TensorLink> of(Side side, String key);
}
