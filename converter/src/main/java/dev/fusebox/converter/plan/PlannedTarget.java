package dev.fusebox.converter.plan;

import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.List;

/**
 * One tensor of the output: what it is, the operations that make it (empty for a tensor copied as it is, perhaps
 * under a new name), and its recipe.
 */
public record PlannedTarget(TensorSpec spec, List<String> operations, Recipe recipe) {

    public PlannedTarget {
        operations = List.copyOf(operations);
    }

    public String key() {
        return spec.key();
    }

    public Dtype dtype() {
        return spec.dtype();
    }

    public Shape shape() {
        return spec.shape();
    }

    public long byteSize() {
        return spec.byteSize();
    }

    public List<TensorSpec> sources() {
        return recipe.sources();
    }

    /** Whether the target is one source tensor copied whole, under its own key or a new one. */
    public boolean copiedWhole() {
        return recipe instanceof CopyRecipe c && c.placements().size() == 1
                && c.placements().getFirst().coversWholeSource() && operations.isEmpty();
    }

    /** Whether the target is one source copied whole under a new key. */
    public boolean renamed() {
        return copiedWhole() && !sources().getFirst().key().equals(key());
    }
}
