package dev.fusebox.converter.plan;

import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** A target made by copying: the placements tile it, each taking elements of one source tensor. */
public record CopyRecipe(List<Placement> placements) implements Recipe {

    public CopyRecipe {
        placements = List.copyOf(placements);
    }

    @Override
    public List<TensorSpec> sources() {
        Set<TensorSpec> out = new LinkedHashSet<>();
        for (Placement p : placements) {
            out.add(p.source());
        }
        return new ArrayList<>(out);
    }

    /**
     * Whether every placement is one contiguous byte range of its source and of the target, so the target is
     * written by a few range copies (true for identities, stack, concat, chunk and unstack).
     */
    public boolean byteRanges(Shape targetShape) {
        for (Placement p : placements) {
            if (p.runs(targetShape).count() != 1) {
                return false;
            }
        }
        return true;
    }
}
