package dev.fusebox.converter.tensor;

/**
 * Which block scale each element of a block-scaled weight [..., R, C] takes: the weight's last two axes cut into
 * blocks of {@code blockRows} × {@code blockCols}, the scales laid out row-major as [..., ⌈R/blockRows⌉,
 * ⌈C/blockCols⌉]. Shared by the dequantizing conversion and the dequantized statistics, so both scale an element
 * alike.
 *
 * @param rows      the weight's rows per matrix (R)
 * @param cols      the weight's columns (C)
 * @param blockRows a block's rows
 * @param blockCols a block's columns
 * @param gridRows  the scale's rows per matrix, ⌈R/blockRows⌉
 * @param gridCols  the scale's columns, ⌈C/blockCols⌉
 */
public record ScaleGrid(long rows, long cols, long blockRows, long blockCols, long gridRows, long gridCols) {

    /** The grid of a weight of shape {@code weight}, of two axes or more. */
    public static ScaleGrid of(Shape weight, long blockRows, long blockCols) {
        int r = weight.rank();
        long rows = weight.dim(r - 2);
        long cols = weight.dim(r - 1);
        return new ScaleGrid(rows, cols, blockRows, blockCols, Math.ceilDiv(rows, blockRows),
                Math.ceilDiv(cols, blockCols));
    }

    /** The index, in the scale tensor, of the scale of the weight's element {@code element} (row-major). */
    public int scaleOf(long element) {
        long col = element % cols;
        long row = (element / cols) % rows;
        long matrix = element / cols / rows;
        return (int) ((matrix * gridRows + row / blockRows) * gridCols + col / blockCols);
    }
}
