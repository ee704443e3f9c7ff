package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.tensor.TensorSpec;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A v5 adapter read back into the legacy modules it means. PEFT nests one wrapper per targeted parameter of a
 * module, the first parameter the module defines innermost ({@code experts.base_layer} wraps gate_up_proj,
 * {@code experts} wraps down_proj when both are targeted). For each stacked parameter the factors are read (once,
 * at plan time) to find each branch's rank window: when B is block-diagonal (gate rows use only some ranks, up rows
 * only the others), each branch gets its own window and its rank back; otherwise each gets all R ranks. Trailing
 * ranks that are zero in both A and B for an expert are dropped, and an expert whose branch is all zeros has no
 * LoRA there: that gives back exactly what {@link LegacyToV5} fused.
 */
final class V5Reading {

    /** One legacy module's LoRA inside a v5 adapter: views of its factors and the scale the wrapper gives it. */
    record Module(String legacy, MatrixView a, MatrixView b, int rank, double scale, Source source) {
    }

    /** Where a legacy module's LoRA comes from: a stacked parameter's wrapper, the router's, or a plain module's. */
    sealed interface Source permits Stacked, RouterParam, PlainModule {
    }

    /** Branch {@code branch} of expert {@code expert} of stacked {@code param}, of rank R and alpha in the config. */
    record Stacked(String param, int converter, int branch, int expert, int fusedRank, double alpha,
                   boolean blockDiagonal) implements Source {
    }

    record RouterParam(String param, double alpha) implements Source {
    }

    record PlainModule(String module, double alpha) implements Source {
    }

    /** The modules, and notes on what the reading found (a B that is not block-diagonal, say). */
    record Result(List<Module> modules, List<String> notes) {
    }

    private V5Reading() {
    }

    static Result read(Checkpoint adapter, AdapterConfig config, AdapterTensors tensors, LoraRoles roles,
                       Optional<BaseModel> base) throws FuseboxException {
        Path file = adapter.location();
        List<Module> out = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (LoraPair pair : tensors.pairs().values()) {
            String unwrapped = pair.module().replace(".base_layer", "");
            int depth = (pair.module().length() - unwrapped.length()) / ".base_layer".length();
            List<String> targeted = new ArrayList<>();
            for (String p : roles.stackedParams(file, unwrapped)) {
                if (config.targetsParameter(p)) {
                    targeted.add(p);
                }
            }
            if (!targeted.isEmpty()) {
                if (depth >= targeted.size()) {
                    throw new FuseboxException(Problem.UNSUPPORTED, file, tensors.pairs().get(pair.module()).a().key(),
                            "it is " + depth + " wrappers deep, but target_parameters names only " + targeted
                                    + " on " + unwrapped);
                }
                String param = targeted.get(targeted.size() - 1 - depth);
                out.addAll(stacked(adapter, config, pair, param, roles, base, notes));
                continue;
            }
            if (depth > 0) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, pair.a().key(), "it sits in a parameter wrapper ("
                        + pair.module() + "), but target_parameters names no parameter of " + unwrapped);
            }
            String weight = unwrapped + ".weight";
            boolean router = config.targetsParameter(weight);
            String name = router ? weight : pair.module();
            int rank = PeftPatterns.rank(config, name);
            double alpha = PeftPatterns.alpha(config, name);
            if (rank != pair.rank()) {
                throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), name, "adapter_config.json gives it "
                        + "rank " + rank + ", but its factors have rank " + pair.rank());
            }
            Source source = router ? new RouterParam(weight, alpha) : new PlainModule(pair.module(), alpha);
            out.add(new Module(roles.legacyModule(unwrapped), MatrixView.whole(pair.a()), MatrixView.whole(pair.b()),
                    rank, PeftPatterns.scale(config.useRslora(), rank, alpha), source));
        }
        return new Result(out, notes);
    }

    private static List<Module> stacked(Checkpoint adapter, AdapterConfig config, LoraPair pair, String param,
                                        LoraRoles roles, Optional<BaseModel> base, List<String> notes)
            throws FuseboxException {
        Path file = adapter.location();
        LoraRoles.Stacked kind = roles.stacked(file, param).orElseThrow();
        int n = kind.branches();
        int rank = PeftPatterns.rank(config, param);
        double alpha = PeftPatterns.alpha(config, param);
        TensorSpec a = pair.a();
        TensorSpec b = pair.b();
        long rows = a.shape().dim(0);
        if (rows % rank != 0) {
            throw new FuseboxException(Problem.RAGGED_SHAPES, file, a.key(), "its " + rows + " rows are not a "
                    + "multiple of the rank " + rank + " that adapter_config.json gives " + param);
        }
        int experts = Math.toIntExact(rows / rank);
        OptionalInt declared = base.flatMap(BaseModel::config).map(ModelConfig::numExperts).orElse(OptionalInt.empty());
        if (declared.isPresent() && declared.getAsInt() != experts) {
            throw new FuseboxException(Problem.RAGGED_SHAPES, file, a.key(), "its " + rows + " rows are " + experts
                    + " experts of rank " + rank + ", but the base model has " + declared.getAsInt() + " experts");
        }
        long out = b.shape().dim(0) / n;
        if (b.shape().dim(0) % n != 0 || b.shape().dim(1) != rows) {
            throw new FuseboxException(Problem.RAGGED_SHAPES, file, b.key(), "its shape " + b.shape() + " does not "
                    + "fit A " + a.shape() + " of " + param + " (B is [" + n + "·out, R·E])");
        }
        Scan scan = Scan.of(adapter, a, b, rank, experts, n, out);
        int[][] window = scan.windows();
        boolean blockDiagonal = n == 1 || scan.blockDiagonal;
        if (!blockDiagonal) {
            notes.add("B of " + param + " is not block-diagonal, so each of " + String.join(", ",
                    roles.branchNames(kind.converter())) + " gets all " + rank + " ranks back.");
        }
        double scale = PeftPatterns.scale(config.useRslora(), rank, alpha);
        List<Module> modules = new ArrayList<>();
        for (int br = 0; br < n; br++) {
            for (int e = 0; e < experts; e++) {
                int k0 = window[br][0];
                int r = scan.usedRank(br, e, k0, window[br][1]);
                if (r == 0) {
                    continue;
                }
                String legacy = roles.legacyExpertModule(file, param, br, e).orElseThrow();
                MatrixView av = MatrixView.rows(a, Math.addExact(Math.multiplyExact((long) e, rank), k0), r);
                long cols = Math.multiplyExact((long) rank, experts);
                MatrixView bv = new MatrixView(b, out, r, Math.addExact(Math.multiplyExact(Math.multiplyExact(br, out), cols),
                        Math.addExact(Math.multiplyExact((long) k0, experts), e)), cols, experts);
                modules.add(new Module(legacy, av, bv, r, scale, new Stacked(param, kind.converter(), br, e, rank, alpha,
                        blockDiagonal)));
            }
        }
        return modules;
    }

    /** Which ranks each branch and expert use, read from the factors' data. */
    private static final class Scan {
        final int rank;
        final int experts;
        final int branches;
        final boolean[][] aUsed;
        final boolean[][][] bUsed;
        boolean blockDiagonal;

        private Scan(int rank, int experts, int branches) {
            this.rank = rank;
            this.experts = experts;
            this.branches = branches;
            this.aUsed = new boolean[experts][rank];
            this.bUsed = new boolean[branches][rank][experts];
        }

        static Scan of(Checkpoint adapter, TensorSpec a, TensorSpec b, int rank, int experts, int branches, long out)
                throws FuseboxException {
            Scan s = new Scan(rank, experts, branches);
            MemorySegment ad = adapter.tensor(a.key()).orElseThrow().data();
            MatrixView av = MatrixView.whole(a);
            for (int e = 0; e < experts; e++) {
                for (int k = 0; k < rank; k++) {
                    for (long j = 0; j < av.cols() && !s.aUsed[e][k]; j++) {
                        s.aUsed[e][k] = av.get(ad, (long) e * rank + k, j) != 0.0;
                    }
                }
            }
            MemorySegment bd = adapter.tensor(b.key()).orElseThrow().data();
            MatrixView bv = MatrixView.whole(b);
            for (long row = 0; row < bv.rows(); row++) {
                boolean[][] used = s.bUsed[(int) (row / out)];
                for (int k = 0; k < rank; k++) {
                    for (int e = 0; e < experts; e++) {
                        if (!used[k][e] && bv.get(bd, row, (long) k * experts + e) != 0.0) {
                            used[k][e] = true;
                        }
                    }
                }
            }
            return s;
        }

        /**
         * Each branch's rank window [from, to): equal shares when every branch's B uses only its share, else
         * shares cut where the next branch's ranks start when the branches use ranks in order, else all ranks.
         */
        int[][] windows() {
            int[][] w = new int[branches][2];
            int[][] used = new int[branches][];
            for (int br = 0; br < branches; br++) {
                int lo = rank;
                int hi = -1;
                for (int k = 0; k < rank; k++) {
                    for (int e = 0; e < experts; e++) {
                        if (bUsed[br][k][e]) {
                            lo = Math.min(lo, k);
                            hi = Math.max(hi, k);
                        }
                    }
                }
                used[br] = new int[] {lo, hi};
            }
            if (rank % branches == 0) {
                int share = rank / branches;
                boolean fits = true;
                for (int br = 0; br < branches; br++) {
                    fits &= used[br][1] < 0 || (used[br][0] >= br * share && used[br][1] < (br + 1) * share);
                }
                if (fits) {
                    for (int br = 0; br < branches; br++) {
                        w[br] = new int[] {br * share, (br + 1) * share};
                    }
                    blockDiagonal = true;
                    return w;
                }
            }
            int start = 0;
            boolean ordered = true;
            for (int br = 0; br < branches; br++) {
                if (used[br][1] >= 0 && used[br][0] < start) {
                    ordered = false;
                }
                int end = rank;
                for (int next = br + 1; next < branches; next++) {
                    if (used[next][1] >= 0) {
                        end = used[next][0];
                        break;
                    }
                }
                if (used[br][1] < 0 && end == rank && br + 1 < branches) {
                    end = start;
                }
                w[br] = new int[] {start, Math.max(start, end)};
                if (used[br][1] >= w[br][1]) {
                    ordered = false;
                }
                start = w[br][1];
            }
            if (ordered) {
                blockDiagonal = true;
                return w;
            }
            for (int br = 0; br < branches; br++) {
                w[br] = new int[] {0, rank};
            }
            return w;
        }

        /** The ranks expert e's branch uses in window [from, to), trailing ranks zero in both factors dropped. */
        int usedRank(int branch, int e, int from, int to) {
            int last = from - 1;
            for (int k = from; k < to; k++) {
                if (aUsed[e][k] || bUsed[branch][k][e]) {
                    last = k;
                }
            }
            return last + 1 - from;
        }
    }
}
