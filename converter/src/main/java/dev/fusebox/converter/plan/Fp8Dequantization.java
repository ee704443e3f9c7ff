package dev.fusebox.converter.plan;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.FloatCodec;
import dev.fusebox.converter.tensor.ScaleGrid;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/**
 * A target written as transformers' FP8 dequantization computes it on CPU ({@code Fp8Dequantize}): each F8_E4M3
 * element as float32 times the float32 scale of its block, the product rounded once more to the output dtype
 * (round to nearest even), before any stacking or concatenation. The target's placements say where each source
 * element goes; each is one contiguous byte range of its weight and of the target (stack, concat, chunk, unstack).
 *
 * @param shape      the target's shape
 * @param output     the dtype written (the model's dtype: bfloat16, float16 or float32)
 * @param placements the target's placements, in target order, each a contiguous range
 * @param scales     each weight's scale tensor, by weight key
 * @param block      the block grid
 */
record Fp8Dequantization(Shape shape, Dtype output, List<Placement> placements, Map<String, TensorSpec> scales,
                         BlockScales block) implements TensorComputation {

    private static final int CHUNK = 1 << 16;
    // torch 2.13's CPU float32 → bfloat16 conversion writes every NaN as 0xffff, whatever its sign and payload.
    private static final short TORCH_BF16_NAN = (short) 0xffff;

    Fp8Dequantization {
        placements = List.copyOf(placements);
        scales = Map.copyOf(scales);
    }

    @Override
    public void write(SourceReader sources, TargetSink target) throws IOException, FuseboxException {
        int outBytes = output.byteSize();
        ByteBuffer in = ByteBuffer.allocate(CHUNK);
        ByteBuffer out = ByteBuffer.allocate(CHUNK * outBytes).order(ByteOrder.LITTLE_ENDIAN);
        long next = 0;
        for (Placement p : placements) {
            Placement.Runs runs = p.runs(shape);
            if (runs.count() != 1 || runs.targetBase() != next) {
                throw new FuseboxException(Problem.INVALID_RULES, null, p.source().key(), "its dequantized "
                        + "elements are not one contiguous range of the target");
            }
            TensorSpec weight = p.source();
            float[] scale = readScales(sources, scales.get(weight.key()));
            ScaleGrid grid = ScaleGrid.of(weight.shape(), block.rows(), block.columns());
            long done = 0;
            while (done < runs.runBytes()) {
                int n = (int) Math.min(CHUNK, runs.runBytes() - done);
                long first = runs.sourceBase() + done;
                in.clear().limit(n);
                sources.read(weight.key(), first, in);
                in.flip();
                out.clear();
                for (int i = 0; i < n; i++) {
                    float v = FloatCodec.e4m3ToFloat(in.get(i)) * scale[grid.scaleOf(first + i)];
                    switch (output) {
                        case BF16 -> out.putShort(Float.isNaN(v) ? TORCH_BF16_NAN : FloatCodec.floatToBf16(v));
                        case F16 -> out.putShort(Float.floatToFloat16(v));
                        case F32 -> out.putFloat(v);
                        default -> throw new IllegalStateException(output + " is not an output of dequantization");
                    }
                }
                target.write(out.flip());
                done += n;
            }
            next += runs.runBytes();
        }
    }

    private static float[] readScales(SourceReader sources, TensorSpec scale) throws IOException, FuseboxException {
        long n = scale.shape().elementCount();
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(Math.multiplyExact(n, 4L))).order(ByteOrder.LITTLE_ENDIAN);
        sources.read(scale.key(), 0, b);
        b.flip();
        float[] out = new float[(int) n];
        b.asFloatBuffer().get(out);
        return out;
    }
}
