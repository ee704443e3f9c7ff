package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.rules.RuleBook;

import java.util.List;
import java.util.Optional;

/**
 * What the adapter on one side of a diff does to the model on the other, its base: each weight it changes and by
 * how much, or why it does not fit that model.
 *
 * @param baseIsA whether the model is A (and the adapter B)
 */
public record AdapterAgainstBase(boolean baseIsA, List<AdapterDeltaNorms.ModuleDelta> modules,
                                 Optional<String> refused) {

    public AdapterAgainstBase {
        modules = List.copyOf(modules);
    }

    /** For a model and an adapter, in either order; empty for two models or two adapters. */
    public static Optional<AdapterAgainstBase> of(Checkpoint a, Checkpoint b, RuleBook book) {
        return of(a, b, book, false);
    }

    /** As {@link #of(Checkpoint, Checkpoint, RuleBook)}; with {@code readBase}, each changed weight's ‖W‖ too. */
    public static Optional<AdapterAgainstBase> of(Checkpoint a, Checkpoint b, RuleBook book, boolean readBase) {
        if (a.kind() == b.kind()) {
            return Optional.empty();
        }
        boolean baseIsA = a.kind() == CheckpointKind.MODEL;
        try {
            return Optional.of(new AdapterAgainstBase(baseIsA,
                    AdapterDeltaNorms.of(baseIsA ? a : b, baseIsA ? b : a, book, readBase), Optional.empty()));
        } catch (FuseboxException e) {
            return Optional.of(new AdapterAgainstBase(baseIsA, List.of(), Optional.of(e.getMessage())));
        }
    }

    /** "A" or "B": the side that is the base. */
    public String base() {
        return baseIsA ? "A" : "B";
    }
}
