package dev.fusebox.converter.rules;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fusebox.converter.tensor.Shape;

import java.util.List;
import java.util.Optional;

/**
 * A tensor's shape in each layout, in config.json's terms, for a converter whose keys are the same in both
 * layouts (qwen3_vl_moe's {@code mlp.experts.gate_up_proj}, transposed between 4.x and v5): there the keys cannot
 * tell the layout and the shape must. The rule gives the v5 shape ({@code v5_shape}); the legacy one is the v5 shape
 * run back through the converter's transposes.
 */
public record LayoutShapes(ConfigShape legacy, ConfigShape v5) {

    /**
     * The shapes for a converter with operations {@code towardV5}, from its v5 shape. Throws
     * IllegalArgumentException when the operations are not transposes within the shape's axes, or when they leave
     * the shape as it was (the shape could then never tell the layout).
     */
    public static LayoutShapes of(ConfigShape v5, List<Operation> towardV5) {
        ConfigShape legacy = v5;
        for (Operation op : towardV5.reversed()) {
            if (!(op instanceof Operation.Transpose t)) {
                throw new IllegalArgumentException("v5_shape tells the layout by the shape a transpose changes, so "
                        + "its converter may only transpose, not " + op.describe());
            }
            int rank = v5.axes().size();
            if (t.dim0() >= rank || t.dim1() >= rank) {
                throw new IllegalArgumentException(op.describe() + " names an axis past the " + rank
                        + " axes of v5_shape " + v5);
            }
            legacy = legacy.swapped(t.dim0(), t.dim1());
        }
        if (legacy.equals(v5)) {
            throw new IllegalArgumentException("the operations give the legacy layout the same shape as v5_shape " + v5
                    + ", so the shape could never tell the layout");
        }
        return new LayoutShapes(legacy, v5);
    }

    /** What {@code shape}, the shape of tensor {@code key}, says about its layout under {@code config}. */
    public ShapeReading read(String key, Shape shape, Optional<JsonNode> config) {
        if (config.isEmpty()) {
            return new ShapeReading.Unresolved(key, "there is no config.json beside it", this);
        }
        ConfigShape.Resolved v5Shape = v5.resolve(config.get());
        ConfigShape.Resolved legacyShape = legacy.resolve(config.get());
        if (v5Shape.shape().isEmpty()) {
            return new ShapeReading.Unresolved(key, v5Shape.why(), this);
        }
        Shape v = v5Shape.shape().get();
        Shape l = legacyShape.shape().orElseThrow();
        boolean isV5 = shape.equals(v);
        boolean isLegacy = shape.equals(l);
        if (isV5 && isLegacy) {
            return new ShapeReading.Both(key, shape, this);
        }
        if (isV5) {
            return new ShapeReading.V5(key);
        }
        if (isLegacy) {
            return new ShapeReading.Legacy(key);
        }
        return new ShapeReading.Neither(key, shape, l, v, this);
    }
}
