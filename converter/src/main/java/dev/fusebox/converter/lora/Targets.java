package dev.fusebox.converter.lora;

import dev.fusebox.converter.plan.Assembly;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.List;
import java.util.Optional;

/** Planned targets of adapter conversions: copies (renamed, perhaps cast) and matrices built from blocks. */
final class Targets {

    private Targets() {
    }

    /** {@code source} written as {@code key}: its bytes as they are, or cast to {@code dtype} when that differs. */
    static PlannedTarget copy(String key, TensorSpec source, Optional<Dtype> dtype) {
        Dtype to = castTo(source.dtype(), dtype);
        if (to == source.dtype()) {
            return new PlannedTarget(new TensorSpec(key, source.dtype(), source.shape()), List.of(),
                    new CopyRecipe(Assembly.of(source).placements()));
        }
        long last = source.shape().rank() == 0 ? 1 : source.shape().dim(source.shape().rank() - 1);
        long rows = last == 0 ? 0 : source.shape().elementCount() / last;
        MatrixView flat = new MatrixView(source, rows, last, 0, last, 1);
        BlockMatrix m = new BlockMatrix(rows, last, to, List.of(new BlockMatrix.Block(flat, 0, 0, 1, 1.0)));
        return new PlannedTarget(new TensorSpec(key, to, source.shape()), List.of("cast(" + to.name() + ")"),
                new ComputedRecipe(List.of(source), source.dtype().name() + " values cast to " + to.name(), m));
    }

    /** A 2-D target made of blocks. */
    static PlannedTarget blocks(String key, Dtype dtype, long rows, long cols, List<BlockMatrix.Block> blocks,
                                List<String> ops, String description) {
        BlockMatrix m = new BlockMatrix(rows, cols, dtype, blocks);
        return new PlannedTarget(new TensorSpec(key, dtype, Shape.of(rows, cols)), ops,
                new ComputedRecipe(m.sources(), description, m));
    }

    /** The dtype written for a float tensor of {@code from}: the one asked for, else its own. */
    static Dtype castTo(Dtype from, Optional<Dtype> asked) {
        return asked.isPresent() && from.decodable() ? asked.get() : from;
    }
}
