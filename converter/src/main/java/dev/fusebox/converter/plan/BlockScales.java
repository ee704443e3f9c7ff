package dev.fusebox.converter.plan;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;

/**
 * Fine-grained FP8's block grid ({@code quantization_config.weight_block_size}): one F32 scale per block of
 * {@code rows} × {@code columns} elements of a weight's last two axes, so a weight [..., R, C] has the scale
 * [..., ⌈R/rows⌉, ⌈C/columns⌉]. A scale follows its weight through stack and unstack unchanged; through concat and
 * chunk only where the block size divides every part along the joined axis, since a block straddling two parts
 * would have one scale for both.
 */
record BlockScales(int rows, int columns) {

    BlockScales {
        if (rows <= 0 || columns <= 0) {
            throw new IllegalArgumentException("a block size is positive, not [" + rows + ", " + columns + "]");
        }
    }

    /** The scale shape of a weight of shape {@code weight}. */
    Shape scaleShape(Shape weight) {
        int r = weight.rank();
        if (r < 2) {
            throw new IllegalArgumentException("a block-scaled weight has two axes or more, not " + weight);
        }
        return weight.withDim(r - 2, ceil(weight.dim(r - 2), rows)).withDim(r - 1, ceil(weight.dim(r - 1), columns));
    }

    /** The block length along {@code axis} of a weight of rank {@code rank}: 1 on the axes before the last two. */
    long along(int axis, int rank) {
        return axis == rank - 2 ? rows : axis == rank - 1 ? columns : 1;
    }

    /**
     * Checks that {@code scale} is the block scale of {@code weight}: its shape the weight's grid of blocks, and,
     * for dequantizing, an F8_E4M3 weight, an F32 scale and blocks that tile the weight (transformers'
     * dequantization derives the block from the grid, so a partial block would be scaled as another size).
     */
    void check(Path file, TensorSpec weight, TensorSpec scale, boolean dequantizing) throws FuseboxException {
        if (weight.shape().rank() < 2) {
            throw new FuseboxException(Problem.SHAPE_MISMATCH, file, weight.key(), "it has the block scale '"
                    + scale.key() + "', but its shape " + weight.shape() + " has no two axes for blocks of "
                    + "weight_block_size " + this + " to tile");
        }
        Shape expected = scaleShape(weight.shape());
        if (!scale.shape().equals(expected)) {
            throw new FuseboxException(Problem.SHAPE_MISMATCH, file, scale.key(), "its shape is " + scale.shape()
                    + ", but the weight '" + weight.key() + "' " + weight.shape() + " has the grid " + expected
                    + " of weight_block_size " + this + " blocks");
        }
        if (!dequantizing) {
            return;
        }
        if (weight.dtype() != Dtype.F8_E4M3) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, weight.key(), "it is " + weight.dtype()
                    + "; dequantizing reads F8_E4M3 weights only", Remedy.DEQUANTIZE);
        }
        if (scale.dtype() != Dtype.F32) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, scale.key(), "it is " + scale.dtype()
                    + "; dequantizing reads float32 scales only", Remedy.DEQUANTIZE);
        }
        int r = weight.shape().rank();
        if (weight.shape().dim(r - 2) % rows != 0 || weight.shape().dim(r - 1) % columns != 0) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, weight.key(), "its shape " + weight.shape()
                    + " is not a whole number of " + this + " blocks; transformers' dequantization derives the "
                    + "block from the scale grid and would scale it with other blocks, so Fusebox cannot match it");
        }
    }

    @Override
    public String toString() {
        return "[" + rows + ", " + columns + "]";
    }

    private static long ceil(long n, long b) {
        return Math.ceilDiv(n, b);
    }
}
