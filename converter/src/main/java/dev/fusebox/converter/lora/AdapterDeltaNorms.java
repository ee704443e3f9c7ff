package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.FloatCodec;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * How much an adapter changes each weight of its base: {@code ‖scale · B @ A‖_F} per module, without the dense
 * [out, in] product. With G = BᵀB and H = AAᵀ (both r × r), ‖BA‖_F² = trace((BA)ᵀ BA) = trace(G H) = Σ G_ij H_ij,
 * so the cost is (out + in) · r² multiply-adds and r² doubles of memory per module. Asked to, it also reads each
 * changed weight of the base once for ‖W‖_F, which makes the relative figure ‖scale · B @ A‖ / ‖W‖, the one a diff
 * of the base against the merged model gives.
 */
public final class AdapterDeltaNorms {

    /**
     * One weight the adapter changes (legacy name), its rank and scale, ‖scale · B @ A‖_F and, when the base was
     * read, the weight's own ‖W‖_F.
     */
    public record ModuleDelta(String weight, long out, long in, int rank, double scale, double norm,
                              OptionalDouble baseNorm) {

        /** ‖scale · B @ A‖ / ‖W‖, when the base was read: 0 for no change, infinite for a change of zeros. */
        public OptionalDouble relative() {
            if (baseNorm.isEmpty()) {
                return OptionalDouble.empty();
            }
            return OptionalDouble.of(norm == 0 ? 0 : baseNorm.getAsDouble() == 0 ? Double.POSITIVE_INFINITY
                    : norm / baseNorm.getAsDouble());
        }
    }

    private AdapterDeltaNorms() {
    }

    /**
     * The modules {@code adapter} changes in {@code base}, in the adapter's order. Refused, as a merge would be,
     * when the adapter does not fit the base (a weight it changes that the base lacks or has in another shape).
     */
    public static List<ModuleDelta> of(Checkpoint base, Checkpoint adapter, RuleBook book) throws FuseboxException {
        return of(base, adapter, book, false);
    }

    /** As {@link #of(Checkpoint, Checkpoint, RuleBook)}, with ‖W‖_F of each weight when {@code readBase}. */
    public static List<ModuleDelta> of(Checkpoint base, Checkpoint adapter, RuleBook book, boolean readBase)
            throws FuseboxException {
        ConversionPlan merge = MergePlanner.plan(base, adapter, book, Optional.of(base.layout()));
        AdapterDeltas deltas = MergePlanner.deltas(base, adapter, book);
        for (var e : deltas.changes().entrySet()) {
            if (!(e.getValue() instanceof AdapterDeltas.Delta d) || d.magnitude().isPresent()) {
                throw new FuseboxException(Problem.UNSUPPORTED, adapter.location(), e.getKey(), "the adapter's "
                        + switch (e.getValue()) {
                            case AdapterDeltas.Delta x -> "DoRA";
                            case AdapterDeltas.BiasShift x -> "lora_bias";
                            case AdapterDeltas.ExpertDeltas x -> "LoRA on stacked experts";
                        } + " changes it, and "
                        + "Fusebox reports ‖scale · B @ A‖ per weight for plain LoRA only");
            }
        }
        Map<String, Double> squares = readBase ? baseSquares(base, merge, deltas) : Map.of();
        List<ModuleDelta> out = new ArrayList<>();
        for (var e : deltas.changes().entrySet()) {
            AdapterDeltas.Delta d = (AdapterDeltas.Delta) e.getValue();
            MemorySegment a = data(adapter, d.a());
            MemorySegment b = data(adapter, d.b());
            double sumSq = traceOfProduct(gram(d.b(), b, false), gram(d.a(), a, true), d.rank());
            Double w = squares.get(e.getKey());
            out.add(new ModuleDelta(e.getKey(), d.out(), d.in(), d.rank(), d.scale(),
                    Math.abs(d.scale()) * Math.sqrt(Math.max(0, sumSq)),
                    w == null ? OptionalDouble.empty() : OptionalDouble.of(Math.sqrt(w))));
        }
        return out;
    }

    /**
     * Σ W² over the finite elements of each weight the adapter changes, read from the base where the merge would
     * read it: the segments of the merge's computed targets that carry a delta (a legacy weight, or its slice of a
     * fused v5 tensor).
     */
    private static Map<String, Double> baseSquares(Checkpoint base, ConversionPlan merge, AdapterDeltas deltas)
            throws FuseboxException {
        Map<AdapterDeltas.Change, String> weights = new HashMap<>();
        deltas.changes().forEach((weight, d) -> weights.put(d, weight));
        Map<String, Double> out = new HashMap<>();
        for (PlannedTarget t : merge.targets()) {
            if (!(t.recipe() instanceof ComputedRecipe c) || !(c.computation() instanceof MergedTensor m)) {
                continue;
            }
            for (MergedTensor.Segment s : m.segments()) {
                String weight = s.change().map(weights::get).orElse(null);
                if (weight == null) {
                    continue;
                }
                MemorySegment data = base.tensor(s.source()).orElseThrow(() -> new FuseboxException(
                        Problem.MISSING_TENSOR, base.location(), s.source(), "is a weight the merge reads, but the "
                        + "base's files do not hold it")).data();
                double sum = 0;
                for (long i = s.from(); i < s.from() + s.count(); i++) {
                    double x = FloatCodec.get(data, s.sourceDtype(), i);
                    sum += Double.isFinite(x) ? x * x : 0;
                }
                out.merge(weight, sum, Double::sum);
            }
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
