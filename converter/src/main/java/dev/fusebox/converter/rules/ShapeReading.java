package dev.fusebox.converter.rules;

import dev.fusebox.converter.tensor.Shape;

/**
 * What one tensor's shape says about its layout, under a converter whose keys are the same in both layouts
 * ({@link LayoutShapes}): the legacy shape, the v5 shape, both (a square case: it says nothing), neither, or
 * nothing because config.json does not give the sizes.
 */
public sealed interface ShapeReading {

    /** The tensor the reading is about. */
    String key();

    /** The legacy shape, and not the v5 one. */
    record Legacy(String key) implements ShapeReading {
    }

    /** The v5 shape, and not the legacy one. */
    record V5(String key) implements ShapeReading {
    }

    /** Both shapes at once (say hidden_size = 2 × moe_intermediate_size for gate_up_proj): the shape cannot tell. */
    record Both(String key, Shape shape, LayoutShapes expected) implements ShapeReading {
    }

    /** A reading that rules out converting: the shape fits neither layout, or the expected shapes are unknown. */
    sealed interface Misfit extends ShapeReading {
    }

    /** Neither shape: the weights do not fit the config (or the rule). */
    record Neither(String key, Shape shape, Shape legacy, Shape v5, LayoutShapes expected) implements Misfit {
    }

    /** The expected shapes are unknown: {@code why} config.json does not give them. */
    record Unresolved(String key, String why, LayoutShapes expected) implements Misfit {
    }
}
