package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.plan.SourceReader;
import dev.fusebox.converter.plan.TargetSink;
import dev.fusebox.converter.plan.TensorComputation;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.FloatCodec;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A 2-D tensor [rows, cols] made of blocks of source matrices, each multiplied by a factor, with zeros everywhere
 * else: a fused LoRA factor of v5 (expert-major rows of A; rank-major, block-diagonal columns of B) or a legacy
 * factor cut out of one. Written row chunk by row chunk, so memory stays bounded by the chunk, not the tensor.
 * A factor of 1 copies values exactly, whatever the dtypes (every float dtype widens to double without loss).
 */
public record BlockMatrix(long rows, long cols, Dtype dtype, List<Block> blocks) implements TensorComputation {

    /** Elements per chunk written. */
    static final int CHUNK = 1 << 16;

    /**
     * Source matrix element (i, j) lands at target row {@code row0 + i}, column {@code col0 + j·colStep}, times
     * {@code factor}.
     */
    public record Block(MatrixView source, long row0, long col0, long colStep, double factor) {
    }

    public BlockMatrix {
        blocks = List.copyOf(blocks);
        for (Block b : blocks) {
            MatrixView s = b.source;
            if (b.row0 < 0 || b.row0 + s.rows() > rows || b.col0 < 0
                    || (s.cols() > 0 && b.col0 + (s.cols() - 1) * b.colStep >= cols)) {
                throw new IllegalArgumentException("a block of " + s + " does not fit in [" + rows + ", " + cols + "]");
            }
        }
    }

    /** The source tensors read, each once, in block order. */
    public List<TensorSpec> sources() {
        Set<TensorSpec> out = new LinkedHashSet<>();
        for (Block b : blocks) {
            out.add(b.source.tensor());
        }
        return new ArrayList<>(out);
    }

    @Override
    public void write(SourceReader sources, TargetSink target) throws IOException, FuseboxException {
        int width = Math.toIntExact(cols);
        int chunkRows = (int) Math.max(1, Math.min(rows, CHUNK / Math.max(1, width)));
        double[] values = new double[Math.multiplyExact(chunkRows, width)];
        byte[] encoded = new byte[Math.multiplyExact(values.length, dtype.byteSize())];
        Scratch scratch = new Scratch();
        for (long r0 = 0; r0 < rows; r0 += chunkRows) {
            int n = (int) Math.min(chunkRows, rows - r0);
            java.util.Arrays.fill(values, 0, n * width, 0.0);
            for (Block b : blocks) {
                long from = Math.max(r0, b.row0);
                long to = Math.min(r0 + n, b.row0 + b.source.rows());
                if (from >= to) {
                    continue;
                }
                int count = (int) (to - from);
                int bw = Math.toIntExact(b.source.cols());
                double[] row = scratch.doubles(count * bw);
                b.source.readRows(sources, from - b.row0, count, row, 0, scratch);
                for (int i = 0; i < count; i++) {
                    int out = (int) (from - r0 + i) * width;
                    for (int j = 0; j < bw; j++) {
                        values[out + (int) (b.col0 + j * b.colStep)] = row[i * bw + j] * b.factor;
                    }
                }
            }
            target.write(encode(values, n * width, dtype, encoded));
        }
    }

    /** The first {@code count} values in {@code dtype}, little-endian, in {@code out}, ready to write. */
    static ByteBuffer encode(double[] values, int count, Dtype dtype, byte[] out) {
        MemorySegment seg = MemorySegment.ofArray(out);
        for (int i = 0; i < count; i++) {
            FloatCodec.set(seg, dtype, i, values[i]);
        }
        return ByteBuffer.wrap(out, 0, Math.multiplyExact(count, dtype.byteSize()));
    }
}
