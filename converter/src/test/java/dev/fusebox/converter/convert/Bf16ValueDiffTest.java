package dev.fusebox.converter.convert;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.tensor.FloatCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * bfloat16 values, whose squares a chunk that agrees takes straight from the bits: two hand-written files, one
 * tensor the same on both sides (over two comparison chunks), one with a single element changed; ‖a‖² and the
 * difference computed here element by element from the bits.
 */
class Bf16ValueDiffTest {

    @TempDir
    Path dir;

    @Test
    void sumsOfSquaresAndDifferencesOfBfloat16MatchTheElementByElementFigures() throws Exception {
        SplittableRandom random = new SplittableRandom(5);
        short[] same = new short[700_001];
        short[] changed = new short[5000];
        for (short[] t : new short[][] {same, changed}) {
            for (int i = 0; i < t.length; i++) {
                t[i] = FloatCodec.floatToBf16((float) (random.nextGaussian() * 0.05));
            }
        }
        same[3] = FloatCodec.floatToBf16(Float.NaN);
        same[600_000] = FloatCodec.floatToBf16(Float.NEGATIVE_INFINITY);
        short[] changedInB = changed.clone();
        changedInB[1234] = FloatCodec.floatToBf16(FloatCodec.bf16ToFloat(changed[1234]) + 0.25f);
        Path a = write("a.safetensors", same, changed);
        Path b = write("b.safetensors", same, changedInB);

        DiffReport r;
        try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
            r = CheckpointDiff.compare(ca, cb, true, Cancellation.NEVER);
        }
        DiffReport.ValueDiff s = r.values().orElseThrow().stream().filter(v -> v.key().equals("same")).findFirst()
                .orElseThrow();
        DiffReport.ValueDiff c = r.values().orElseThrow().stream().filter(v -> v.key().equals("changed"))
                .findFirst().orElseThrow();
        assertThat(s.identical()).isTrue();
        assertThat(s.whole().sumSquaredA()).isCloseTo(sumOfSquares(same), within(1e-12 * sumOfSquares(same)));
        assertThat(c.whole().differingElements()).isEqualTo(1);
        double delta = (double) FloatCodec.bf16ToFloat(changed[1234]) - FloatCodec.bf16ToFloat(changedInB[1234]);
        assertThat(c.whole().maxAbsDiff()).isEqualTo(Math.abs(delta));
        assertThat(c.whole().sumSquaredDiff()).isEqualTo(delta * delta);
        assertThat(c.whole().sumSquaredA())
                .isCloseTo(sumOfSquares(changed), within(1e-12 * sumOfSquares(changed)));
    }

    private static double sumOfSquares(short[] bits) {
        double sum = 0;
        for (short b : bits) {
            double x = FloatCodec.bf16ToFloat(b);
            sum += Double.isFinite(x) ? x * x : 0;
        }
        return sum;
    }

    /** A safetensors file of two BF16 tensors, "same" and "changed", one dimension each. */
    private Path write(String name, short[] same, short[] changed) throws Exception {
        long sameBytes = 2L * same.length;
        String header = "{\"same\":{\"dtype\":\"BF16\",\"shape\":[" + same.length + "],\"data_offsets\":[0,"
                + sameBytes + "]},\"changed\":{\"dtype\":\"BF16\",\"shape\":[" + changed.length
                + "],\"data_offsets\":[" + sameBytes + "," + (sameBytes + 2L * changed.length) + "]}}";
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + json.length + 2 * (same.length + changed.length))
                .order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json);
        for (short v : same) {
            out.putShort(v);
        }
        for (short v : changed) {
            out.putShort(v);
        }
        Path p = dir.resolve(name);
        Files.write(p, out.array());
        return p;
    }
}
