package dev.fusebox.converter.plan;

import dev.fusebox.converter.safetensors.Shape;

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

    @Override
    public String toString() {
        return "[" + rows + ", " + columns + "]";
    }

    private static long ceil(long n, long b) {
        return Math.ceilDiv(n, b);
    }
}
