package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.forward.VerificationReport.LayerComparison;
import dev.fusebox.converter.forward.VerificationReport.PositionComparison;
import dev.fusebox.converter.forward.VerificationReport.Side;
import dev.fusebox.converter.forward.VerificationReport.TokenLogit;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.safetensors.Dtype;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Proves a conversion means the same thing: runs the source checkpoint (with its adapter) and the converted one
 * (with its converted adapter, or merged) on the same tokens and compares the residual stream after every layer,
 * the routers' expert choices and the logits. It passes when every logit and every hidden state is within the
 * {@link Tolerance} (hidden states relative to their magnitude) and every router chose the same experts. A side
 * given as a bare .safetensors file borrows the other side's config.json.
 */
public final class Verifier {

    /** How many tokens {@link #defaultTokens} picks. */
    public static final int DEFAULT_TOKEN_COUNT = 16;

    /**
     * The most tokens one check runs: attention grows with their square and the logits kept with their number
     * times the vocabulary, and a sample pass needs far fewer (256 × a 32 000-token vocabulary is 33 MB of logits
     * per side).
     */
    public static final int MOST_TOKENS = 256;

    private final Kernel kernel;

    public Verifier(Kernel kernel) {
        this.kernel = kernel;
    }

    public Verifier() {
        this(Kernel.best());
    }

    /** Refuses more than {@link #MOST_TOKENS} tokens, before any weight is read or converted. */
    public static void checkTokenCount(Path source, int tokens) throws FuseboxException {
        if (tokens > MOST_TOKENS) {
            throw new FuseboxException(Problem.UNSUPPORTED, source, "is to be verified on " + tokens + " tokens, "
                    + "but a check runs at most " + MOST_TOKENS + "; give fewer with --tokens");
        }
    }

    /** This machine's physical memory, the default budget for the weights of both sides. */
    public static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }

    /** Token 1 (the usual BOS) then ids spread over the vocabulary by a prime stride, the same on every run. */
    public static List<Integer> defaultTokens(int vocab) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < DEFAULT_TOKEN_COUNT; i++) {
            out.add((int) ((1 + i * 7919L) % vocab));
        }
        return out;
    }

    public VerificationReport verify(VerificationRequest request, ProgressListener progress,
                                     Cancellation cancellation) throws FuseboxException {
        checkTokenCount(request.source(), request.tokens().size());
        try (Checkpoint source = openModel(request.source());
             Checkpoint converted = openModel(request.converted());
             Checkpoint sourceAdapter = openAdapter(request.sourceAdapter());
             Checkpoint convertedAdapter = openAdapter(request.convertedAdapter())) {
            if (convertedAdapter != null && sourceAdapter == null) {
                throw new FuseboxException(Problem.UNSUPPORTED, convertedAdapter.location(),
                        "is a converted adapter, but no source adapter was given to compare it with");
            }
            ModelConfig sourceConfig = source.config().or(converted::config).orElseThrow(() -> new FuseboxException(
                    Problem.INVALID_CONFIG, source.location(), "has no config.json and neither has "
                    + converted.location() + ", and the forward pass needs one"));
            MixtralWeights a = MixtralWeights.open(source, sourceConfig, Optional.ofNullable(sourceAdapter));
            MixtralWeights b = MixtralWeights.open(converted, converted.config().orElse(sourceConfig),
                    Optional.ofNullable(convertedAdapter));
            MixtralDims dims = a.dims();
            if (!b.dims().equals(dims)) {
                throw new FuseboxException(Problem.SHAPE_MISMATCH, converted.location(),
                        "describes a different model than " + source.location() + " (" + b.dims() + " against "
                                + dims + ")");
            }
            int layers = request.layers().orElse(dims.layers());
            if (layers < 1 || layers > dims.layers()) {
                throw new FuseboxException(Problem.UNSUPPORTED, source.location(),
                        "has " + dims.layers() + " layers, so --layers must be between 1 and " + dims.layers());
            }
            checkMemory(a, b, layers, request.memoryBytes(), request.layers().isPresent());
            int[] tokens = (request.tokens().isEmpty() ? defaultTokens(dims.vocab()) : request.tokens())
                    .stream().mapToInt(Integer::intValue).toArray();
            int items = layers + 1;
            ForwardResult ra = new MixtralForward(a, kernel).run(tokens, layers,
                    p -> progress.onProgress(new Progress(0, 0, p.itemsDone(), 2 * items, "source " + p.current())),
                    cancellation);
            ForwardResult rb = new MixtralForward(b, kernel).run(tokens, layers,
                    p -> progress.onProgress(new Progress(0, 0, items + p.itemsDone(), 2 * items,
                            "converted " + p.current())), cancellation);
            Tolerance tolerance = Tolerance.of(dtypes(source, converted, sourceAdapter, convertedAdapter));
            return compare(ra, rb, tolerance, dims.layers(), side(a, source, ra), side(b, converted, rb));
        }
    }

    private static Checkpoint openModel(Path path) throws FuseboxException {
        Checkpoint c = Checkpoint.open(path);
        if (c.kind() != CheckpointKind.MODEL) {
            c.close();
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, path, "is an adapter, where a model was expected");
        }
        return c;
    }

    private static Checkpoint openAdapter(Optional<Path> path) throws FuseboxException {
        if (path.isEmpty()) {
            return null;
        }
        Checkpoint c = Checkpoint.open(path.get());
        if (c.kind() != CheckpointKind.ADAPTER) {
            c.close();
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, path.get(), "is a model, where an adapter was expected");
        }
        return c;
    }

    private static void checkMemory(MixtralWeights a, MixtralWeights b, int layers, long memory, boolean limited)
            throws FuseboxException {
        long needed = Math.addExact(a.bytesFor(layers), b.bytesFor(layers));
        if (needed <= memory) {
            return;
        }
        int fits = 0;
        while (fits < layers && Math.addExact(a.bytesFor(fits + 1), b.bytesFor(fits + 1)) <= memory) {
            fits++;
        }
        String advice = fits == 0 ? "not even one layer fits"
                : "verify the first " + fits + " with --layers " + fits;
        throw new FuseboxException(Problem.UNSUPPORTED, a.location(), "and its conversion need "
                + gib(needed) + " of weights in memory for " + (limited ? "" : "all ") + layers + " layers, more than "
                + "the " + gib(memory) + " this machine has; " + advice);
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    /** The float dtypes of the weights on both sides, adapters included. */
    private static Set<Dtype> dtypes(Checkpoint... checkpoints) {
        Set<Dtype> out = EnumSet.noneOf(Dtype.class);
        for (Checkpoint c : checkpoints) {
            if (c != null) {
                for (StoredTensor t : c.tensors().values()) {
                    if (t.dtype().decodable()) {
                        out.add(t.dtype());
                    }
                }
            }
        }
        return out;
    }

    /** The dtype holding most of a checkpoint's bytes. */
    private static Dtype mainDtype(Checkpoint c) {
        Map<Dtype, Long> bytes = new EnumMap<>(Dtype.class);
        for (StoredTensor t : c.tensors().values()) {
            bytes.merge(t.dtype(), t.byteSize(), Long::sum);
        }
        return bytes.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(Dtype.F32);
    }

    private static Side side(MixtralWeights w, Checkpoint c, ForwardResult r) {
        return new Side(w.location(), w.layout(), w.adapterLocation(), mainDtype(c), r.weightBytesRead(), r.nanos());
    }

    static VerificationReport compare(ForwardResult a, ForwardResult b, Tolerance tolerance, int layersTotal,
                                      Side sourceSide, Side convertedSide) {
        List<String> failures = new ArrayList<>();
        int t = a.positions();
        List<LayerComparison> layers = new ArrayList<>();
        for (int l = 0; l < a.layersRun(); l++) {
            float[] ha = a.hidden().get(l + 1);
            float[] hb = b.hidden().get(l + 1);
            double diff = maxAbsDiff(ha, hb);
            double allowed = tolerance.hidden(maxAbs(ha));
            RouterOutput ra = a.routers().get(l);
            RouterOutput rb = b.routers().get(l);
            List<int[]> ea = new ArrayList<>();
            List<int[]> eb = new ArrayList<>();
            int agree = 0;
            for (int p = 0; p < t; p++) {
                ea.add(ra.chosenSet(p));
                eb.add(rb.chosenSet(p));
                agree += Arrays.equals(ea.get(p), eb.get(p)) ? 1 : 0;
            }
            if (diff > allowed) {
                failures.add(String.format(Locale.ROOT,
                        "hidden states after layer %d differ by up to %.3g (allowed %.3g)", l, diff, allowed));
            }
            if (agree < t) {
                failures.add("the routers of layer " + l + " chose different experts at " + (t - agree) + " of "
                        + t + " positions");
            }
            layers.add(new LayerComparison(l, diff, allowed, maxAbsDiff(ra.logits(), rb.logits()), agree, ea, eb));
        }
        List<PositionComparison> positions = new ArrayList<>();
        double max = 0;
        for (int p = 0; p < t; p++) {
            float[] la = a.logits(p);
            float[] lb = b.logits(p);
            double diff = maxAbsDiff(la, lb);
            max = Math.max(max, diff);
            List<TokenLogit> ta = top5(la);
            List<TokenLogit> tb = top5(lb);
            int overlap = 0;
            for (TokenLogit x : ta) {
                for (TokenLogit y : tb) {
                    overlap += x.token() == y.token() ? 1 : 0;
                }
            }
            positions.add(new PositionComparison(p, a.tokens()[p], diff,
                    ta.getFirst().token() == tb.getFirst().token(), overlap, ta, tb));
        }
        double allowed = tolerance.logits(maxAbs(a.logits()));
        if (!(max <= allowed)) {
            failures.add(0, String.format(Locale.ROOT, "logits differ by up to %.3g (tolerance %.3g)", max, allowed));
        }
        Optional<String> nonFinite = nonFinite(a, b);
        if (nonFinite.isPresent()) {
            // "logits differ by up to Infinity" would blame the conversion for what both sides compute alike.
            failures.clear();
            failures.add(nonFinite.get());
        }
        List<Integer> tokens = Arrays.stream(a.tokens()).boxed().toList();
        return new VerificationReport(failures.isEmpty(), allowed, max, tokens, a.layersRun(), layersTotal, layers,
                positions, sourceSide, convertedSide, a.logitsByPosition(), b.logitsByPosition(), failures);
    }

    /**
     * Where both sides first hold NaN or infinities at the same places (the embeddings, a layer's output, the
     * logits), said as the failure: the model itself makes them (its weights, or config.json such as a NaN
     * rms_norm_eps), not the conversion. Empty when all is finite, or when the sides differ in where (then the
     * usual differences say it).
     */
    private static Optional<String> nonFinite(ForwardResult a, ForwardResult b) {
        int states = Math.min(a.hidden().size(), b.hidden().size());
        for (int h = 0; h <= states; h++) {
            float[] x = h < states ? a.hidden().get(h) : a.logits();
            float[] y = h < states ? b.hidden().get(h) : b.logits();
            boolean nan = false;
            boolean any = false;
            for (int i = 0; i < x.length; i++) {
                boolean fx = Float.isFinite(x[i]);
                if (fx != Float.isFinite(y[i]) || (!fx && Float.isNaN(x[i]) != Float.isNaN(y[i]))) {
                    return Optional.empty();
                }
                any |= !fx;
                nan |= Float.isNaN(x[i]);
            }
            if (any) {
                String where = h == 0 ? "the embeddings hold" : h < states ? "layer " + (h - 1) + "'s output holds"
                        : "the logits hold";
                return Optional.of(where + " " + (nan ? "NaN" : "infinities") + " in both layouts, at the same "
                        + "places: the model's own weights or config.json (such as a NaN rms_norm_eps) make them, not "
                        + "the conversion, and they cannot be compared as numbers");
            }
        }
        return Optional.empty();
    }

    private static List<TokenLogit> top5(float[] logits) {
        List<TokenLogit> out = new ArrayList<>();
        boolean[] taken = new boolean[logits.length];
        for (int k = 0; k < Math.min(5, logits.length); k++) {
            int best = -1;
            for (int v = 0; v < logits.length; v++) {
                if (!taken[v] && (best < 0 || logits[v] > logits[best])) {
                    best = v;
                }
            }
            taken[best] = true;
            out.add(new TokenLogit(best, logits[best]));
        }
        return out;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (!(d <= max)) {
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
            }
        }
        return max;
    }

    private static double maxAbs(float[] a) {
        double max = 0;
        for (float v : a) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }
}
