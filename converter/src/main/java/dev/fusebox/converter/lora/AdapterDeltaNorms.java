package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.rules.RuleBook;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How much an adapter changes each weight of its base: {@code ‖scale · B @ A‖_F} per module, without the dense
 * [out, in] product. With G = BᵀB and H = AAᵀ (both r × r), ‖BA‖_F² = trace((BA)ᵀ BA) = trace(G H) = Σ G_ij H_ij,
 * so the cost is (out + in) · r² multiply-adds and r² doubles of memory per module.
 */
public final class AdapterDeltaNorms {

    /** One weight the adapter changes (legacy name), its rank and scale, and ‖scale · B @ A‖_F. */
    public record ModuleDelta(String weight, long out, long in, int rank, double scale, double norm) {
    }

    private AdapterDeltaNorms() {
    }

    /**
     * The modules {@code adapter} changes in {@code base}, in the adapter's order. Refused, as a merge would be,
     * when the adapter does not fit the base (a weight it changes that the base lacks or has in another shape).
     */
    public static List<ModuleDelta> of(Checkpoint base, Checkpoint adapter, RuleBook book) throws FuseboxException {
        MergePlanner.plan(base, adapter, book, Optional.of(base.layout()));
        AdapterDeltas deltas = MergePlanner.deltas(base, adapter, book);
        List<ModuleDelta> out = new ArrayList<>();
        for (var e : deltas.changes().entrySet()) {
            if (!(e.getValue() instanceof AdapterDeltas.Delta d) || d.magnitude().isPresent()) {
                throw new FuseboxException(Problem.UNSUPPORTED, adapter.location(), e.getKey(), "the adapter's "
                        + (e.getValue() instanceof AdapterDeltas.Delta ? "DoRA" : "lora_bias") + " changes it, and "
                        + "Fusebox reports ‖scale · B @ A‖ per weight for plain LoRA only");
            }
            MemorySegment a = data(adapter, d.a());
            MemorySegment b = data(adapter, d.b());
            double sumSq = traceOfProduct(gram(d.b(), b, false), gram(d.a(), a, true), d.rank());
            out.add(new ModuleDelta(e.getKey(), d.out(), d.in(), d.rank(), d.scale(),
                    Math.abs(d.scale()) * Math.sqrt(Math.max(0, sumSq))));
        }
        return out;
    }

    private static MemorySegment data(Checkpoint adapter, MatrixView view) throws FuseboxException {
        return adapter.tensor(view.tensor().key()).orElseThrow(() -> new FuseboxException(Problem.MISSING_TENSOR,
                adapter.location(), view.tensor().key(), "is a LoRA factor the adapter's header lists but its "
                + "files do not hold")).data();
    }

    /**
     * The r × r Gram matrix of a factor: AAᵀ for A [r, in] ({@code rowsAreRank}), BᵀB for B [out, r], row-major.
     */
    private static double[] gram(MatrixView m, MemorySegment data, boolean rowsAreRank) {
        int r = Math.toIntExact(rowsAreRank ? m.rows() : m.cols());
        long n = rowsAreRank ? m.cols() : m.rows();
        double[] g = new double[r * r];
        double[] v = new double[r];
        for (long k = 0; k < n; k++) {
            for (int i = 0; i < r; i++) {
                v[i] = rowsAreRank ? m.get(data, i, k) : m.get(data, k, i);
            }
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < r; j++) {
                    g[i * r + j] += v[i] * v[j];
                }
            }
        }
        return g;
    }

    /** trace(G H) for symmetric G and H: the sum of their element-wise product. */
    private static double traceOfProduct(double[] g, double[] h, int r) {
        double sum = 0;
        for (int i = 0; i < r * r; i++) {
            sum += g[i] * h[i];
        }
        return sum;
    }
}
