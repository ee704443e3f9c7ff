package dev.fusebox.converter.plan;

import dev.fusebox.converter.tensor.TensorSpec;

import java.util.List;

/**
 * How a target's bytes are made: copied from parts of source tensors ({@link CopyRecipe}), or computed by code
 * from them ({@link ComputedRecipe}, e.g. a LoRA factor rebuilt block-diagonal with zeros). The executor writes
 * either kind; nothing else is allowed.
 */
public sealed interface Recipe permits CopyRecipe, ComputedRecipe {

    /** The source tensors the target is made from, each once, in the order they are used. */
    List<TensorSpec> sources();
}
