package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.FloatCodec;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * The lora_A / lora_B pair of one adapted module or parameter, checked against the shapes the base implies and
 * decoded only when used. With {@code experts} > 1 it is PEFT's ParamWrapper over a stacked [E, out, in] parameter:
 * A [E·r, in] is expert-major (row e·r + k), B [out, r·E] rank-major (column k·E + e), and expert e's update is
 * {@code scale · B[:, :, e] @ A[e]} with A viewed [E, r, in] and B viewed [out, r, E].
 *
 * @param rank      rank per expert (the config's r, or its rank_pattern value)
 * @param module    the module name PEFT gives it, for messages
 * @param magnitude DoRA's magnitude vector [out] (a plain linear layer only: PEFT's ParamWrapper has no DoRA)
 */
record LoraFactors(String module, StoredTensor a, StoredTensor b, int rank, int experts, int in, int out,
                   float scale, Optional<StoredTensor> magnitude) {

    /** The update of a plain linear layer or a 2-D parameter over its base {@code weight} [out, in]. */
    LoraDelta whole(WeightMatrix weight) throws FuseboxException {
        LoraDelta plain = expert(0, 0, out);
        if (magnitude.isEmpty()) {
            return plain;
        }
        float[] m = new float[out];
        FloatCodec.decode(magnitude.get().data(), magnitude.get().dtype(), 0, m, 0, out);
        return plain.withMagnitude(m, weight, magnitude.get().byteSize());
    }

    /** Expert {@code e}'s update, for output rows {@code [outFrom, outFrom + outCount)} (one half of gate_up). */
    LoraDelta expert(int e, int outFrom, int outCount) throws FuseboxException {
        MemorySegment aData = a.data();
        float[] aa = new float[rank * in];
        FloatCodec.decode(aData, a.dtype(), (long) e * rank * in, aa, 0, aa.length);
        MemorySegment bData = b.data();
        float[] bb = new float[outCount * rank];
        long bCols = (long) rank * experts;
        for (int o = 0; o < outCount; o++) {
            long row = (outFrom + o) * bCols;
            for (int k = 0; k < rank; k++) {
                bb[o * rank + k] = (float) FloatCodec.get(bData, b.dtype(), row + (long) k * experts + e);
            }
        }
        long bytes = (long) aa.length * a.dtype().byteSize() + (long) bb.length * b.dtype().byteSize();
        return new LoraDelta(aa, bb, rank, in, outCount, scale, bytes);
    }
}
