package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.plan.PlannedTarget;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The factors PEFT 0.21's ParamWrapper makes of a stacked [E, in, out] parameter read as {@code x @ W[e]}, once
 * without {@code is_transposed} on its module (aria_text's 4.x {@code fc1}: in and out swapped, A [E·r, out] and
 * B [in, r·E], ΔW[e] = B_e·A_e) and once with it (v5's {@code AriaExperts}: A' [E·r, in] and B' [out, r·E],
 * ΔW[e] = A'_eᵀ·B'_eᵀ). The same ΔW needs A'_e = B_eᵀ and B'_e = A_eᵀ, and as A's rows are expert-major
 * (e·r + k) while B's columns are rank-major (k·E + e), each new factor is the other's per-expert blocks
 * transposed: new A = {@link #rowsOf}(old B), new B = {@link #columnsOf}(old A), in both directions.
 */
final class TransposedExpertFactors {

    private TransposedExpertFactors() {
    }

    /** The new factors, A then B, of {@code pair} written under {@code module}, with rank {@code rank}. */
    static List<PlannedTarget> swapped(Path file, LoraPair pair, String module, int rank, Optional<Dtype> dtype)
            throws FuseboxException {
        TensorSpec a = pair.a();
        TensorSpec b = pair.b();
        long rows = a.shape().dim(0);
        if (a.shape().rank() != 2 || b.shape().rank() != 2 || rows % rank != 0 || b.shape().dim(1) != rows) {
            throw new FuseboxException(Problem.INVALID_CONFIG, file, pair.module(), "its factors " + a.shape()
                    + " and " + b.shape() + " are not those of rank " + rank + " on stacked experts");
        }
        long experts = rows / rank;
        return List.of(rowsOf(AdapterTensors.key(module, 'A'), b, experts, rank, dtype),
                columnsOf(AdapterTensors.key(module, 'B'), a, experts, rank, dtype));
    }

    /** [E·r, m] from B [m, r·E]: row e·r + k is column k·E + e. */
    private static PlannedTarget rowsOf(String key, TensorSpec b, long experts, long rank, Optional<Dtype> dtype) {
        long m = b.shape().dim(0);
        long width = Math.multiplyExact(experts, rank);
        List<BlockMatrix.Block> blocks = new ArrayList<>();
        for (long e = 0; e < experts; e++) {
            MatrixView v = new MatrixView(b, rank, m, e, experts, width);
            blocks.add(new BlockMatrix.Block(v, Math.multiplyExact(e, rank), 0, 1, 1.0));
        }
        return Targets.blocks(key, Targets.castTo(b.dtype(), dtype), width, m, blocks, List.of("transpose per expert"),
                b.key() + " transposed expert by expert");
    }

    /** [n, r·E] from A [E·r, n]: column k·E + e is row e·r + k. */
    private static PlannedTarget columnsOf(String key, TensorSpec a, long experts, long rank,
                                           Optional<Dtype> dtype) {
        long n = a.shape().dim(1);
        long width = Math.multiplyExact(experts, rank);
        List<BlockMatrix.Block> blocks = new ArrayList<>();
        for (long e = 0; e < experts; e++) {
            MatrixView v = new MatrixView(a, n, rank, Math.multiplyExact(Math.multiplyExact(e, rank), n), 1, n);
            blocks.add(new BlockMatrix.Block(v, 0, e, experts, 1.0));
        }
        return Targets.blocks(key, Targets.castTo(a.dtype(), dtype), n, width, blocks, List.of("transpose per expert"),
                a.key() + " transposed expert by expert");
    }
}
