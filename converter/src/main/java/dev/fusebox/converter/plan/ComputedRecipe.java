package dev.fusebox.converter.plan;

import dev.fusebox.converter.tensor.TensorSpec;

import java.util.List;

/**
 * A target computed by code from its sources, for what no copy can express (adapter factors rebuilt with zeros,
 * columns reordered rank-major). {@code description} says what it computes, for plans and the GUI.
 */
public record ComputedRecipe(List<TensorSpec> sources, String description, TensorComputation computation)
        implements Recipe {

    public ComputedRecipe {
        sources = List.copyOf(sources);
    }
}
