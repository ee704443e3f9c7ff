package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.FloatCodec;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The check that a LoRA on a stacked [E, in, out] parameter read as {@code x @ W[e]} means the same with and without
 * {@code is_transposed} on its module (tuners/lora/layer.py, ParamWrapper): each expert's ΔW [in, out] of the 4.x
 * factors, A [E·r, out] and B [in, r·E] with ΔW[e] = B_e·A_e (B's columns rank-major, A's rows expert-major), equals
 * the v5 factors', A' [E·r, in] and B' [out, r·E] with ΔW[e] = A'_eᵀ·B'_eᵀ, to the last bit of a sum taken in the
 * same order.
 */
final class TransposedDeltas {

    private TransposedDeltas() {
    }

    static void assertSame(StoredTensor a, StoredTensor b, StoredTensor a5, StoredTensor b5, int rank)
            throws FuseboxException {
        long experts = a.shape().dim(0) / rank;
        long in = b.shape().dim(0);
        long out = a.shape().dim(1);
        assertThat(b.shape().dims()).containsExactly(in, rank * experts);
        assertThat(a5.shape().dims()).containsExactly(experts * rank, in);
        assertThat(b5.shape().dims()).containsExactly(out, rank * experts);
        for (long e = 0; e < experts; e++) {
            for (long i = 0; i < in; i++) {
                for (long o = 0; o < out; o++) {
                    double want = 0;
                    double got = 0;
                    for (long k = 0; k < rank; k++) {
                        want += value(b, i * rank * experts + k * experts + e) * value(a, (e * rank + k) * out + o);
                        got += value(a5, (e * rank + k) * in + i) * value(b5, o * rank * experts + k * experts + e);
                    }
                    assertThat(got).isEqualTo(want);
                }
            }
        }
    }

    private static double value(StoredTensor t, long index) throws FuseboxException {
        return FloatCodec.get(t.data(), t.dtype(), index);
    }
}
