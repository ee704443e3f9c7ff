package dev.fusebox.converter.plan;

import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Operations on assemblies agree with the same operations written out as index arithmetic, element by element:
 * every target element is filled exactly once, from the source element the formula names.
 */
class AssemblyTest {

    private static final TensorSpec W13 = new TensorSpec("w13", Dtype.F32, Shape.of(2, 6, 4));

    /** Target element (as a row-major index) → "key@source row-major index", from the placements alone. */
    private static Map<Long, String> evaluate(Assembly a) {
        Map<Long, String> out = new HashMap<>();
        long[] ts = Placement.strides(a.shape());
        for (Placement p : a.placements()) {
            long[] ss = Placement.strides(p.source().shape());
            int rank = p.rank();
            long[] idx = new long[rank];
            for (long n = 0; n < p.elementCount(); n++) {
                long rem = n;
                for (int t = rank - 1; t >= 0; t--) {
                    idx[t] = rem % p.extent(t);
                    rem /= p.extent(t);
                }
                long target = 0;
                long[] src = new long[p.source().shape().rank()];
                for (int s = 0; s < src.length; s++) {
                    src[s] = p.sourceStart(s);
                }
                for (int t = 0; t < rank; t++) {
                    target += (p.targetStart(t) + idx[t]) * ts[t];
                    if (p.sourceAxis(t) >= 0) {
                        src[p.sourceAxis(t)] += idx[t] * p.step(t);
                    }
                }
                long source = 0;
                for (int s = 0; s < src.length; s++) {
                    assertThat(src[s]).isBetween(0L, p.source().shape().dim(s) - 1);
                    source += src[s] * ss[s];
                }
                assertThat(out.put(target, p.source().key() + "@" + source)).as("filled twice: " + target).isNull();
            }
        }
        assertThat(out).hasSize((int) a.shape().elementCount());
        return out;
    }

    private static void assertMapping(Assembly a, Function<long[], String> expected) {
        Map<Long, String> got = evaluate(a);
        long[] dims = a.shape().dims();
        long[] strides = Placement.strides(a.shape());
        for (long n = 0; n < a.shape().elementCount(); n++) {
            long[] i = new long[dims.length];
            long rem = n;
            for (int d = dims.length - 1; d >= 0; d--) {
                i[d] = rem % dims[d];
                rem /= dims[d];
            }
            long flat = 0;
            for (int d = 0; d < dims.length; d++) {
                flat += i[d] * strides[d];
            }
            assertThat(got.get(flat)).as(java.util.Arrays.toString(i)).isEqualTo(expected.apply(i));
        }
    }

    @Test
    void transposeSwapsTwoAxes() {
        Assembly t = Assembly.of(W13).transpose(1, 2);
        assertThat(t.shape()).isEqualTo(Shape.of(2, 4, 6));
        assertMapping(t, i -> "w13@" + (i[0] * 24 + i[2] * 4 + i[1]));
    }

    @Test
    void interleaveTakesEvenRowsThenOddRowsAsTransformersDoes() {
        Assembly t = Assembly.of(W13).interleave(1, false);
        assertThat(t.shape()).isEqualTo(W13.shape());
        // new row j' = k·3 + r holds old row 2r + k
        assertMapping(t, i -> "w13@" + (i[0] * 24 + (2 * (i[1] % 3) + i[1] / 3) * 4 + i[2]));
    }

    @Test
    void interleaveInvertedUndoesInterleave() {
        Assembly back = Assembly.of(W13).interleave(1, false).interleave(1, true);
        assertMapping(back, i -> "w13@" + (i[0] * 24 + i[1] * 4 + i[2]));
        Assembly twice = Assembly.of(W13).interleave(1, true).interleave(1, false);
        assertMapping(twice, i -> "w13@" + (i[0] * 24 + i[1] * 4 + i[2]));
    }

    @Test
    void stackThenConcatPutsEachExpertsGateThenUpInOneContiguousRange() {
        TensorSpec g0 = new TensorSpec("g0", Dtype.BF16, Shape.of(3, 4));
        TensorSpec g1 = new TensorSpec("g1", Dtype.BF16, Shape.of(3, 4));
        TensorSpec u0 = new TensorSpec("u0", Dtype.BF16, Shape.of(3, 4));
        TensorSpec u1 = new TensorSpec("u1", Dtype.BF16, Shape.of(3, 4));
        Assembly gate = Assembly.stack(List.of(Assembly.of(g0), Assembly.of(g1)), 0);
        Assembly up = Assembly.stack(List.of(Assembly.of(u0), Assembly.of(u1)), 0);
        Assembly gateUp = Assembly.concat(List.of(gate, up), 1);
        assertThat(gateUp.shape()).isEqualTo(Shape.of(2, 6, 4));
        assertMapping(gateUp, i -> (i[1] < 3 ? "g" : "u") + i[0] + "@" + ((i[1] % 3) * 4 + i[2]));
        for (Placement p : gateUp.placements()) {
            int e = p.source().key().charAt(1) - '0';
            long start = (e * 24 + (p.source().key().startsWith("g") ? 0 : 12)) * 2L;
            assertThat(p.targetBytes(gateUp.shape())).contains(new Placement.ByteRange(start, start + 24));
            assertThat(p.sourceBytes(gateUp.shape())).contains(new Placement.ByteRange(0, 24));
            assertThat(p.targetSlice(gateUp.shape())).isEqualTo("[" + e + ", " + (start % 48 == 0 ? "0:3" : "3:6") + ", :]");
        }
    }

    @Test
    void chunkThenUnstackGivesEachExpertsHalvesBack() {
        List<Assembly> halves = Assembly.of(W13).chunk(1, 2);
        List<Assembly> ups = halves.get(1).unstack(0);
        assertThat(ups).hasSize(2);
        Assembly up1 = ups.get(1);
        assertThat(up1.shape()).isEqualTo(Shape.of(3, 4));
        assertMapping(up1, i -> "w13@" + (24 + (3 + i[0]) * 4 + i[1]));
        Placement p = up1.placements().getFirst();
        assertThat(p.sourceSlice()).isEqualTo("[1, 3:6, :]");
        assertThat(p.sourceBytes(up1.shape())).contains(new Placement.ByteRange(4 * (24 + 12), 4 * (24 + 24)));
    }

    @Test
    void aStridedPlacementIsNotOneByteRange() {
        Assembly t = Assembly.of(W13).interleave(1, false);
        assertThat(t.placements()).allSatisfy(p -> assertThat(p.targetBytes(t.shape())).isEmpty());
        assertThat(t.placements()).extracting(Placement::sourceSlice).containsExactly("[:, ::2, :]", "[:, 1::2, :]");
        assertThat(t.placements()).extracting(p -> p.targetSlice(t.shape())).containsExactly("[:, 0:3, :]", "[:, 3:6, :]");
    }

    @Test
    void shapesThatDoNotFitAreRefused() {
        TensorSpec a = new TensorSpec("a", Dtype.F32, Shape.of(3, 4));
        TensorSpec b = new TensorSpec("b", Dtype.F32, Shape.of(3, 5));
        assertThatThrownBy(() -> Assembly.stack(List.of(Assembly.of(a), Assembly.of(b)), 0))
                .hasMessageContaining("stack needs equal shapes");
        assertThatThrownBy(() -> Assembly.concat(List.of(Assembly.of(a), Assembly.of(b)), 0))
                .hasMessageContaining("needs equal sizes on the other axes");
        assertThatThrownBy(() -> Assembly.of(a).chunk(0, 2)).hasMessageContaining("divisible by 2");
        assertThatThrownBy(() -> Assembly.of(a).transpose(0, 2)).hasMessageContaining("rank 3 or more");
    }
}
