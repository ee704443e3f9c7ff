package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.forward.ExpertBlock.Owner;
import dev.fusebox.converter.forward.ExpertBlock.Projection;
import dev.fusebox.converter.forward.ExpertBlock.Role;
import dev.fusebox.converter.forward.ExpertCheckResult.ExpertComparison;
import dev.fusebox.converter.forward.ExpertCheckResult.RouterComparison;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.Placement;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.FloatCodec;
import dev.fusebox.converter.tensor.TensorSource;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * The expert-level check, for every family with rules: for each MoE layer, seeded sample states go through every
 * expert in both layouts — the source's weights and the conversion's, each read as its own layout stores it
 * ({@link ExpertBlock}) — and through every router, compared after its renaming. The plan only pairs an expert of
 * one side with its place on the other; what each side's tensors mean comes from their keys and shapes, so a
 * conversion with two experts exchanged, gate and up swapped, a wrong transpose or a wrong scale fails, naming the
 * layer, the expert and the tensor. Sums are taken in double in the same order on both sides, so equal weights give
 * equal outputs.
 */
public final class ExpertCheck {

    /** Seeded sample states per expert and per router. */
    public static final int SAMPLES = 2;
    /** The largest difference that passes, relative to the largest output on the source side. */
    public static final double TOLERANCE = 1e-6;

    private static final Pattern ROUTER = Pattern.compile("(?:^|\\.)(?:gate|router)(?:\\.layer)?\\.weight(?:_1)?$");
    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)layers\\.(\\d+)\\.");
    private static final long PARALLEL_WORK = 1L << 20;
    /** Bytes of weights read at a time. */
    private static final long CHUNK = 16L << 20;

    private final TensorSource source;
    private final TensorSource converted;
    private final Activation activation;
    private final List<Pair> pairs;
    private final List<RouterPair> routers;

    private record Pair(ExpertBlock a, int expertA, ExpertBlock b, int expertB) {
    }

    private record RouterPair(int layer, TensorSpec a, TensorSpec b) {
    }

    private ExpertCheck(TensorSource source, TensorSource converted, Activation activation, List<Pair> pairs,
                        List<RouterPair> routers) {
        this.source = source;
        this.converted = converted;
        this.activation = activation;
        this.pairs = pairs;
        this.routers = routers;
    }

    /**
     * Prepares the check of {@code converted} against {@code source}, which {@code plan} converts (absent when both
     * are in the same layout, keys matching keys), over the layers below {@code layers} (all when absent); refuses,
     * before reading any weight, a model in which it finds no expert to check.
     */
    public static ExpertCheck prepare(TensorSource source, TensorSource converted, Optional<ConversionPlan> plan,
                                      Activation activation, OptionalInt hidden, OptionalInt layers)
            throws FuseboxException {
        ExpertBlock.Blocks a = ExpertBlock.find(source.specs(), hidden, source.location());
        ExpertBlock.Blocks b = ExpertBlock.find(converted.specs(), hidden, converted.location());
        Map<String, Pair> pairs = new TreeMap<>();
        List<RouterPair> routers = new ArrayList<>();
        int limit = layers.orElse(Integer.MAX_VALUE);
        if (plan.isEmpty()) {
            for (TensorSpec t : converted.specs()) {
                Owner to = b.owners().get(t.key());
                Owner from = a.owners().get(t.key());
                if (to != null && from != null && source.spec(t.key()).filter(t::equals).isPresent()) {
                    ExpertBlock ba = a.byPrefix().get(from.prefix());
                    ExpertBlock bb = b.byPrefix().get(to.prefix());
                    for (int e = from.expert() >= 0 ? from.expert() : 0;
                         e < (from.expert() >= 0 ? from.expert() + 1 : ba.experts()); e++) {
                        if (ba.layer() < limit) {
                            add(pairs, ba, e, bb, e);
                        }
                    }
                }
                if (router(t) && layerOf(t.key()) < limit && source.spec(t.key()).filter(t::equals).isPresent()) {
                    routers.add(new RouterPair(layerOf(t.key()), t, t));
                }
            }
        }
        for (PlannedTarget target : plan.map(ConversionPlan::targets).orElse(List.of())) {
            if (!(target.recipe() instanceof CopyRecipe copy)) {
                continue;
            }
            Owner to = b.owners().get(target.key());
            for (Placement p : copy.placements()) {
                Owner from = a.owners().get(p.source().key());
                if (to != null && from != null) {
                    pair(a.byPrefix().get(from.prefix()), from.expert(), b.byPrefix().get(to.prefix()), to.expert(),
                            p, limit, pairs);
                }
            }
            if (copy.placements().size() == 1 && copy.placements().getFirst().coversWholeSource()) {
                TensorSpec s = copy.placements().getFirst().source();
                int layer = layerOf(target.key());
                if (router(s) && router(target.spec()) && layer < limit
                        && converted.spec(target.key()).isPresent() && source.spec(s.key()).isPresent()) {
                    routers.add(new RouterPair(layer, s, converted.spec(target.key()).orElseThrow()));
                }
            }
        }
        if (pairs.isEmpty() && !a.byPrefix().isEmpty() && b.owners().isEmpty()) {
            throw new FuseboxException(Problem.SHAPE_MISMATCH, converted.location(), "holds none of the expert "
                    + "tensors the conversion of " + source.location() + " writes; is it that model's conversion?");
        }
        if (pairs.isEmpty()) {
            throw new FuseboxException(Problem.UNSUPPORTED, source.location(), "has no experts the expert check "
                    + "recognises in " + (layers.isPresent() ? "its first " + limit + " layers" : "any layer")
                    + " (per-expert w1/w2/w3 or gate_proj/up_proj/down_proj, or experts stacked as gate_up_proj, "
                    + "up_proj and down_proj)");
        }
        return new ExpertCheck(source, converted, activation, List.copyOf(pairs.values()), routers);
    }

    private static boolean router(TensorSpec t) {
        return t.shape().rank() == 2 && ROUTER.matcher(t.key()).find();
    }

    private static int layerOf(String key) {
        Matcher m = LAYER.matcher(key);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** Pairs the experts placement {@code p} takes from block {@code a} with where it puts them in block {@code b}. */
    private static void pair(ExpertBlock a, int ea, ExpertBlock b, int eb, Placement p, int limit,
                             Map<String, Pair> pairs) {
        if (a.layer() >= limit) {
            return;
        }
        if (ea >= 0 && eb >= 0) {
            add(pairs, a, ea, b, eb);
        } else if (ea >= 0) {
            add(pairs, a, ea, b, (int) p.targetStart(0));
        } else if (eb >= 0) {
            add(pairs, a, (int) p.sourceStart(0), b, eb);
        } else if (p.sourceAxis(0) == 0) {
            for (long k = 0; k < p.extent(0); k++) {
                add(pairs, a, (int) (p.sourceStart(0) + k * p.step(0)), b, (int) (p.targetStart(0) + k));
            }
        }
    }

    private static void add(Map<String, Pair> pairs, ExpertBlock a, int ea, ExpertBlock b, int eb) {
        String order = String.format(Locale.ROOT, "%09d %s %09d", a.layer() + 1, a.prefix(), ea);
        pairs.putIfAbsent(order, new Pair(a, ea, b, eb));
    }

    /** Expert pairs and routers to check: the work's steps. */
    public int steps() {
        return pairs.size() + routers.size();
    }

    /** Bytes of weights the check reads on both sides. */
    public long bytesToRead() {
        long n = 0;
        for (Pair p : pairs) {
            for (Role r : p.a.roles()) {
                n = Math.addExact(n, p.a.projection(p.expertA, r).byteSize());
            }
            for (Role r : p.b.roles()) {
                n = Math.addExact(n, p.b.projection(p.expertB, r).byteSize());
            }
        }
        for (RouterPair r : routers) {
            n = Math.addExact(n, Math.addExact(r.a.byteSize(), r.b.byteSize()));
        }
        return n;
    }

    public ExpertCheckResult run(ProgressListener progress, Cancellation cancellation) throws FuseboxException {
        return run(Map.of(), progress, cancellation);
    }

    /**
     * The check, with {@code realStates} (by layer, [tokens × hidden] row-major: what the layer's experts took in
     * a forward pass) going through every expert of that layer after the seeded ones.
     */
    public ExpertCheckResult run(Map<Integer, float[]> realStates, ProgressListener progress,
                                 Cancellation cancellation) throws FuseboxException {
        List<ExpertComparison> experts = new ArrayList<>();
        List<RouterComparison> routerResults = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        long start = System.nanoTime();
        int real = realStates.isEmpty() ? 0 : realStates.values().iterator().next().length > 0 ? 2 : 0;
        int step = 0;
        for (Pair p : pairs) {
            cancellation.check();
            progress.onProgress(new Progress(0, 0, step++, steps(), "experts: layer " + p.a.layer() + " expert "
                    + p.expertA));
            experts.add(compare(p, realStates.get(p.a.layer()), failures));
        }
        for (RouterPair r : routers) {
            cancellation.check();
            progress.onProgress(new Progress(0, 0, step++, steps(), "router " + r.a.key()));
            routerResults.add(compare(r, failures));
        }
        progress.onProgress(new Progress(0, 0, steps(), steps(), "experts: done"));
        return new ExpertCheckResult(activation, SAMPLES, real, bytesToRead(), TOLERANCE, experts, routerResults,
                failures, System.nanoTime() - start, Optional.empty());
    }

    private ExpertComparison compare(Pair p, float[] real, List<String> failures) throws FuseboxException {
        String where = "layer " + p.a.layer() + " expert " + p.expertA;
        Set<Role> roles = p.a.roles();
        boolean gated = roles.contains(Role.GATE);
        String function = !roles.contains(Role.DOWN) ? "gate and up"
                : (gated ? "gated " : "ungated ") + activation.configName();
        double[] worst = {0, 0};
        String failure = null;
        if (p.expertB >= p.b.experts()) {
            failure = where + ": the conversion's " + p.b.prefix() + " holds " + p.b.experts()
                    + " experts, so it has no expert " + p.expertB;
        } else if (!roles.equals(p.b.roles())) {
            failure = where + ": the source has the projections " + roles + " but the conversion's "
                    + p.b.prefix() + " has " + p.b.roles();
        } else {
            SplittableRandom random = new SplittableRandom(0x5EEDL * 1_000_003L + p.a.layer() * 1009L + p.expertA);
            Role first = gated ? Role.GATE : roles.contains(Role.UP) ? Role.UP : Role.DOWN;
            double[][] x = withReal(samples(random, p.a.projection(p.expertA, first).in()), real);
            double[][] hiddenA = null;
            double[][] hiddenB = null;
            for (Role r : new Role[] {Role.GATE, Role.UP}) {
                if (failure == null && roles.contains(r)) {
                    Projection pa = p.a.projection(p.expertA, r);
                    Projection pb = p.b.projection(p.expertB, r);
                    failure = mismatch(where, r, pa, pb);
                    if (failure == null) {
                        double[][] ya = apply(source, pa, x);
                        double[][] yb = apply(converted, pb, x);
                        failure = differs(where, r, pa, pb, ya, yb, worst);
                        hiddenA = hiddenA == null ? activated(ya) : multiply(hiddenA, ya);
                        hiddenB = hiddenB == null ? activated(yb) : multiply(hiddenB, yb);
                    }
                }
            }
            if (failure == null && roles.contains(Role.DOWN)) {
                Projection pa = p.a.projection(p.expertA, Role.DOWN);
                Projection pb = p.b.projection(p.expertB, Role.DOWN);
                failure = mismatch(where, Role.DOWN, pa, pb);
                if (failure == null && hiddenA != null && hiddenA[0].length != pa.in()) {
                    failure = where + ": " + pa.describe() + " takes " + pa.in() + " inputs, but the expert's "
                            + "hidden width is " + hiddenA[0].length;
                }
                if (failure == null) {
                    double[][] ya = apply(source, pa, hiddenA != null ? hiddenA : x);
                    double[][] yb = apply(converted, pb, hiddenB != null ? hiddenB : x);
                    failure = differs(where, Role.DOWN, pa, pb, ya, yb, worst);
                }
            }
        }
        if (failure != null) {
            failures.add(failure);
        }
        return new ExpertComparison(p.a.layer(), p.expertA, p.a.prefix(), p.a.storage(), p.b.prefix(), p.expertB,
                p.b.storage(), function, worst[0], worst[1], failure == null);
    }

    private static String mismatch(String where, Role r, Projection a, Projection b) {
        if (a.in() != b.in() || a.out() != b.out()) {
            return where + ": its " + r.word() + " is " + a.out() + "×" + a.in() + " in " + a.describe() + " but "
                    + b.out() + "×" + b.in() + " in " + b.describe();
        }
        if (!a.dtype().decodable() || !b.dtype().decodable()) {
            Projection q = a.dtype().decodable() ? b : a;
            return where + ": " + q.describe() + " is " + q.dtype().name()
                    + ", which the expert check does not decode (F64, F32, F16 and BF16 only)";
        }
        return null;
    }

    /** Compares one projection's outputs; a failure names both tensors. Records the worst difference. */
    private static String differs(String where, Role r, Projection a, Projection b, double[][] ya, double[][] yb,
                                  double[] worst) {
        double diff = 0;
        double scale = 0;
        for (int s = 0; s < ya.length; s++) {
            for (int i = 0; i < ya[s].length; i++) {
                double d = Math.abs(ya[s][i] - yb[s][i]);
                diff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(diff, d);
                scale = Math.max(scale, Math.abs(ya[s][i]));
            }
        }
        double allowed = TOLERANCE * scale;
        if (diff > worst[0]) {
            worst[0] = diff;
        }
        worst[1] = Math.max(worst[1], allowed);
        if (diff <= allowed) {
            return null;
        }
        return String.format(Locale.ROOT, "%s: its %s differs by up to %.3g (allowed %.3g) between %s and %s",
                where, r == Role.DOWN ? "output (down projection)" : r.word() + " projection", diff, allowed,
                a.describe(), b.describe());
    }

    private RouterComparison compare(RouterPair r, List<String> failures) throws FuseboxException {
        Shape sa = r.a.shape();
        Shape sb = r.b.shape();
        boolean same = sa.equals(sb);
        boolean swapped = sa.dim(0) == sb.dim(1) && sa.dim(1) == sb.dim(0);
        String failure = null;
        double diff = 0;
        double allowed = 0;
        if (!same && !swapped) {
            failure = "the router " + r.b.key() + " is " + sb + " but " + r.a.key() + " is " + sa;
        } else if (!r.a.dtype().decodable() || !r.b.dtype().decodable()) {
            failure = "the router " + r.b.key() + " is " + r.b.dtype().name() + " and " + r.a.key() + " "
                    + r.a.dtype().name() + ", which the expert check does not decode";
        } else {
            Projection pb = new Projection(r.b.key(), r.b.dtype(), 0, (int) sb.dim(0), (int) sb.dim(1), false, 0,
                    (int) sb.dim(0), "");
            Projection pa = same ? new Projection(r.a.key(), r.a.dtype(), 0, (int) sa.dim(0), (int) sa.dim(1), false,
                    0, (int) sa.dim(0), "")
                    : new Projection(r.a.key(), r.a.dtype(), 0, (int) sa.dim(0), (int) sa.dim(1), true, 0,
                    (int) sa.dim(1), "");
            double[][] x = samples(new SplittableRandom(0x5EEDL + r.layer), pb.in());
            double[] worst = {0, 0};
            double[][] ya = apply(source, pa, x);
            double[][] yb = apply(converted, pb, x);
            String d = differs("layer " + r.layer, Role.GATE, pa, pb, ya, yb, worst);
            diff = worst[0];
            allowed = worst[1];
            if (d != null) {
                failure = String.format(Locale.ROOT, "layer %d: the router %s differs from %s by up to %.3g "
                        + "(allowed %.3g)", r.layer, r.b.key(), r.a.key(), diff, allowed);
            }
        }
        if (failure != null) {
            failures.add(failure);
        }
        return new RouterComparison(r.layer, r.a.key(), r.b.key(), diff, allowed, failure == null);
    }

    /**
     * The seeded samples, then the first and the last position's real state when there are real states of the
     * samples' width.
     */
    private static double[][] withReal(double[][] seeded, float[] real) {
        int width = seeded[0].length;
        if (real == null || real.length == 0 || real.length % width != 0) {
            return seeded;
        }
        int positions = real.length / width;
        int[] rows = positions == 1 ? new int[] {0} : new int[] {0, positions - 1};
        double[][] out = java.util.Arrays.copyOf(seeded, seeded.length + rows.length);
        for (int r = 0; r < rows.length; r++) {
            double[] row = new double[width];
            for (int i = 0; i < width; i++) {
                row[i] = real[rows[r] * width + i];
            }
            out[seeded.length + r] = row;
        }
        return out;
    }

    private static double[][] samples(SplittableRandom random, int width) {
        double[][] x = new double[SAMPLES][width];
        for (double[] row : x) {
            for (int i = 0; i < width; i++) {
                row[i] = random.nextGaussian();
            }
        }
        return x;
    }

    /** The activation of the gate's output (of the up's, for an ungated expert). */
    private double[][] activated(double[][] y) {
        double[][] out = new double[y.length][];
        for (int s = 0; s < y.length; s++) {
            out[s] = new double[y[s].length];
            for (int i = 0; i < y[s].length; i++) {
                out[s][i] = activation.apply(y[s][i]);
            }
        }
        return out;
    }

    private static double[][] multiply(double[][] a, double[][] b) {
        double[][] out = new double[a.length][];
        for (int s = 0; s < a.length; s++) {
            out[s] = new double[a[s].length];
            for (int i = 0; i < a[s].length; i++) {
                out[s][i] = a[s][i] * b[s][i];
            }
        }
        return out;
    }

    /**
     * {@code y = W x} for each sample, with W read from {@code tensors} as {@code p} stores it, a chunk of rows at a
     * time through one buffer (so a check holds {@link #CHUNK} bytes of weights whatever the expert's size); each
     * output is summed over the inputs in ascending order whatever the storage, so a transposed copy gives the same
     * bits.
     */
    static double[][] apply(TensorSource tensors, Projection p, double[][] x) throws FuseboxException {
        double[][] y = new double[x.length][p.out()];
        long rowBytes = Math.multiplyExact((long) p.cols(), p.dtype().byteSize());
        int rowsPerChunk = (int) Math.max(1, Math.min(p.rows(), CHUNK / rowBytes));
        MemorySegment buffer = MemorySegment.ofArray(new byte[Math.toIntExact(rowsPerChunk * rowBytes)]);
        for (int first = 0; first < p.rows(); first += rowsPerChunk) {
            int rows = Math.min(rowsPerChunk, p.rows() - first);
            MemorySegment chunk = buffer.asSlice(0, rows * rowBytes);
            tensors.readInto(p.key(), Math.addExact(p.byteOffset(), first * rowBytes), chunk);
            if (p.transposed()) {
                transposedRows(p, chunk, first, rows, x, y);
            } else {
                int from = first;
                int parts = (long) rows * p.cols() < PARALLEL_WORK ? 1
                        : Math.min(rows, 4 * Runtime.getRuntime().availableProcessors());
                IntStream range = IntStream.range(0, parts);
                (parts > 1 ? range.parallel() : range).forEach(part -> outputRows(p, chunk, from,
                        (int) ((long) rows * part / parts), (int) ((long) rows * (part + 1) / parts), x, y));
            }
        }
        return y;
    }

    /** Stored rows [lo, hi) of a chunk starting at row {@code first} are outputs: one dot product each. */
    private static void outputRows(Projection p, MemorySegment chunk, int first, int lo, int hi, double[][] x,
                                   double[][] y) {
        float[] row = new float[p.cols()];
        for (int o = lo; o < hi; o++) {
            FloatCodec.decode(chunk, p.dtype(), (long) o * p.cols(), row, 0, p.cols());
            for (int s = 0; s < x.length; s++) {
                double acc = 0;
                double[] xs = x[s];
                for (int i = 0; i < row.length; i++) {
                    acc += row[i] * xs[i];
                }
                y[s][first + o] = acc;
            }
        }
    }

    /** The rows of a chunk starting at row {@code first} are inputs: each adds its share to every output. */
    private static void transposedRows(Projection p, MemorySegment chunk, int first, int rows, double[][] x,
                                       double[][] y) {
        float[] row = new float[p.cols()];
        for (int i = 0; i < rows; i++) {
            FloatCodec.decode(chunk, p.dtype(), (long) i * p.cols(), row, 0, p.cols());
            for (int s = 0; s < x.length; s++) {
                double xi = x[s][first + i];
                double[] ys = y[s];
                for (int c = 0; c < p.count(); c++) {
                    ys[c] += row[p.from() + c] * xi;
                }
            }
        }
    }
}
