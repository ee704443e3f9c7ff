package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.convert.ConversionRequest;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.converter.convert.PlannedTensors;
import dev.fusebox.converter.convert.TemporaryConversion;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.TensorSource;
import dev.fusebox.converter.forward.VerificationReport.LayerComparison;
import dev.fusebox.converter.forward.VerificationReport.PositionComparison;
import dev.fusebox.converter.forward.VerificationReport.Side;
import dev.fusebox.converter.forward.VerificationReport.TokenLogit;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Dtype;

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
 * Proves a conversion means the same thing. For every family with rules, the expert-level check ({@link
 * ExpertCheck}) runs seeded states through every expert and router of both layouts; for the families of
 * {@link ModelDims#MODEL_TYPES} (Mixtral, Qwen-MoE, OLMoE, GLM-4-MoE, dots1, MiniMax-M2, ERNIE-4.5-MoE), the
 * forward pass also runs the source checkpoint (with its
 * adapter) and the converted one (with its converted adapter, or merged) on the same tokens and compares the
 * residual stream after every layer, the routers' expert choices and the logits: within the {@link Tolerance}
 * (hidden states relative to their magnitude) and every router choosing the same experts. The conversion is one on disk, or the source read through its plan, written nowhere (an adapter
 * converted for the purpose goes to a temporary folder). Every refusal comes before a weight is read. A side given
 * as a bare .safetensors file borrows the other side's config.json.
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
                    + "but a check runs at most " + MOST_TOKENS + "; give fewer tokens", Remedy.TOKENS);
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

    /** Whether verify runs the forward pass on a model of this type, besides the expert check. */
    public static boolean runsForwardPass(String modelType) {
        return ModelDims.MODEL_TYPES.contains(modelType);
    }

    /** Which checks verify runs on a model of this type, in words. */
    public static String checksFor(String modelType) {
        return runsForwardPass(modelType) ? "the forward pass and the expert check" : "the expert check";
    }

    /** Why verify refuses a model of this type with an adapter, or empty when it checks it. */
    public static Optional<String> refusal(String modelType, boolean adapter) {
        return adapter && !runsForwardPass(modelType)
                ? Optional.of("an adapter is verified by the forward pass, which implements " + ModelDims.FAMILIES
                + " only; verify the model without its adapter") : Optional.empty();
    }

    public VerificationReport verify(VerificationRequest request, ProgressListener progress,
                                     Cancellation cancellation) throws FuseboxException {
        checkTokenCount(request.source(), request.tokens().size());
        Optional<RuleBook> rules = request.rules();
        try (Checkpoint source = openModel(request.source(), rules);
             Checkpoint converted = request.converted().isPresent() ? openModel(request.converted().get(), rules)
                     : null;
             Checkpoint sourceAdapter = openAdapter(request.sourceAdapter(), rules)) {
            if (request.convertedAdapter().isPresent() && sourceAdapter == null) {
                throw new FuseboxException(Problem.UNSUPPORTED, request.convertedAdapter().get(),
                        "is a converted adapter, but no source adapter was given to compare it with");
            }
            ModelConfig config = source.config().or(() -> converted == null ? Optional.empty() : converted.config())
                    .orElseThrow(() -> new FuseboxException(Problem.INVALID_CONFIG, source.location(),
                            "has no config.json" + (converted == null ? "" : " and neither has "
                                    + converted.location()) + ", and the checks need one"));
            boolean forward = runsForwardPass(config.modelType().orElse(null));
            Optional<String> refused = refusal(config.modelType().orElse(null), sourceAdapter != null);
            if (refused.isPresent()) {
                throw new FuseboxException(Problem.UNSUPPORTED, sourceAdapter.location(), "adapts a '"
                        + config.modelType().orElse("?") + "' model, and " + refused.get());
            }
            // A conversion in the source's own layout (an adapter merged, nothing converted) pairs keys with keys.
            boolean sameLayout = converted != null && converted.layout() == source.layout();
            ConversionRequest to = converted != null && converted.layout() != Layout.UNKNOWN
                    ? ConversionRequest.to(converted.layout()) : ConversionRequest.DEFAULT;
            Optional<ConversionPlan> plan = sameLayout ? Optional.empty()
                    : Optional.of(Conversions.plan(source, to).plan());
            try (TensorSource a = new CheckpointTensors(source);
                 TensorSource b = converted != null ? new CheckpointTensors(converted)
                         : new PlannedTensors(source, plan.orElseThrow());
                 TemporaryConversion adapterConversion = converted == null && sourceAdapter != null
                         && request.convertedAdapter().isEmpty()
                         ? TemporaryConversion.adapter(request.temporaryFolder(), sourceAdapter, source,
                         plan.orElseThrow().to(),
                         ProgressListener.NONE, cancellation).orElse(null) : null;
                 Checkpoint convertedAdapter = openAdapter(adapterConversion != null
                         ? Optional.of(adapterConversion.adapter())
                         : converted == null && sourceAdapter != null && request.convertedAdapter().isEmpty()
                         ? Optional.of(sourceAdapter.location()) : request.convertedAdapter(), rules)) {
                Layout convertedLayout = converted != null ? converted.layout() : plan.orElseThrow().to();
                return run(request, config, forward, source, a, b, convertedLayout, converted != null ? converted
                        : null, plan, sourceAdapter, convertedAdapter, progress, cancellation);
            }
        }
    }

    private VerificationReport run(VerificationRequest request, ModelConfig config, boolean forward,
                                   Checkpoint source, TensorSource a, TensorSource b, Layout convertedLayout,
                                   Checkpoint converted, Optional<ConversionPlan> plan, Checkpoint sourceAdapter,
                                   Checkpoint convertedAdapter, ProgressListener progress, Cancellation cancellation)
            throws FuseboxException {
        int layersTotal = config.numHiddenLayers().orElse(0);
        if (request.layers().isPresent() && layersTotal > 0
                && (request.layers().getAsInt() < 1 || request.layers().getAsInt() > layersTotal)) {
            throw new FuseboxException(Problem.UNSUPPORTED, source.location(),
                    "has " + layersTotal + " layers, so the layers to run must be between 1 and " + layersTotal,
                    Remedy.LAYERS);
        }
        // An adapter merged into the conversion changes the experts' weights: the forward pass alone compares them.
        boolean merged = sourceAdapter != null && convertedAdapter == null;
        ExpertCheck experts = merged ? null : ExpertCheck.prepare(a, b, plan, Activation.of(config),
                config.hiddenSize(), request.layers());
        if (!forward) {
            ExpertCheckResult result = experts.run(progress, cancellation);
            List<Integer> checked = result.layers();
            int total = layersTotal > 0 ? layersTotal : checked.isEmpty() ? 0 : checked.getLast() + 1;
            return new VerificationReport(result.passed(), false, result, ExpertCheck.TOLERANCE,
                    result.maxAbsDiff(), List.of(), checked.size(), total, List.of(), List.of(),
                    side(a, source.layout(), false, Optional.empty(), 0),
                    side(b, convertedLayout, converted == null, Optional.empty(), 0),
                    new float[0][], new float[0][], result.failures());
        }
        ModelWeights wa = ModelWeights.open(a, source.layout(), config, Optional.ofNullable(sourceAdapter));
        ModelWeights wb = ModelWeights.open(b, convertedLayout,
                converted != null ? converted.config().orElse(config) : config, Optional.ofNullable(convertedAdapter));
        ModelDims dims = wa.dims();
        if (!wb.dims().equals(dims)) {
            throw new FuseboxException(Problem.SHAPE_MISMATCH, b.location(),
                    "describes a different model than " + a.location() + " (" + wb.dims() + " against "
                            + dims + ")");
        }
        int layers = request.layers().orElse(dims.layers());
        checkMemory(wa, wb, layers, request.memoryBytes(), request.layers().isPresent());
        int[] tokens = (request.tokens().isEmpty() ? defaultTokens(dims.vocab()) : request.tokens())
                .stream().mapToInt(Integer::intValue).toArray();
        int items = layers + 1;
        int total = 2 * items + (experts == null ? 0 : experts.steps());
        ForwardResult ra = new ForwardPass(wa, kernel).run(tokens, layers,
                p -> progress.onProgress(new Progress(0, 0, p.itemsDone(), total, "source " + p.current())),
                cancellation);
        ForwardResult rb = new ForwardPass(wb, kernel).run(tokens, layers,
                p -> progress.onProgress(new Progress(0, 0, items + p.itemsDone(), total,
                        "converted " + p.current())), cancellation);
        ExpertCheckResult expertResult = experts == null ? ExpertCheckResult.skipped("the adapter is merged into "
                + "the conversion, which changes the experts' weights; the forward pass compares them")
                : experts.run(realStates(ra), p -> progress.onProgress(new Progress(0, 0, 2 * items + p.itemsDone(),
                total, p.current())), cancellation);
        Tolerance tolerance = Tolerance.of(dtypes(a, b, tensorsOf(sourceAdapter), tensorsOf(convertedAdapter)));
        return compare(ra, rb, tolerance, dims.layers(), expertResult,
                side(a, source.layout(), false, wa.adapterLocation(), ra.nanos()),
                side(b, convertedLayout, converted == null, wb.adapterLocation(), rb.nanos()));
    }

    /** What each layer's experts took in the source's forward pass, for the expert check to run them too. */
    private static Map<Integer, float[]> realStates(ForwardResult r) {
        Map<Integer, float[]> out = new java.util.HashMap<>();
        for (int l = 0; l < r.expertInputs().size(); l++) {
            out.put(l, r.expertInputs().get(l));
        }
        return out;
    }

    private static Checkpoint openModel(Path path, Optional<RuleBook> rules) throws FuseboxException {
        Checkpoint c = rules.isPresent() ? Checkpoint.open(path, rules.get()) : Checkpoint.open(path);
        if (c.kind() != CheckpointKind.MODEL) {
            c.close();
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, path, "is an adapter, where a model was expected");
        }
        return c;
    }

    private static Checkpoint openAdapter(Optional<Path> path, Optional<RuleBook> rules) throws FuseboxException {
        if (path.isEmpty()) {
            return null;
        }
        Checkpoint c = rules.isPresent() ? Checkpoint.open(path.get(), rules.get()) : Checkpoint.open(path.get());
        if (c.kind() != CheckpointKind.ADAPTER) {
            c.close();
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, path.get(), "is a model, where an adapter was expected");
        }
        return c;
    }

    private static TensorSource tensorsOf(Checkpoint c) {
        return c == null ? null : new CheckpointTensors(c);
    }

    private static void checkMemory(ModelWeights a, ModelWeights b, int layers, long memory, boolean limited)
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
                : "verify the first " + fits + (fits == 1 ? " layer" : " layers") + " only";
        throw new FuseboxException(Problem.UNSUPPORTED, a.location(), "and its conversion need "
                + gib(needed) + " of weights in memory for " + (limited ? "" : "all ") + layers + " layers, more than "
                + "the " + gib(memory) + " this machine has; " + advice, fits == 0 ? null : Remedy.LAYERS);
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    /** The float dtypes of the weights on both sides, adapters included. */
    private static Set<Dtype> dtypes(TensorSource... sides) {
        Set<Dtype> out = EnumSet.noneOf(Dtype.class);
        for (TensorSource side : sides) {
            if (side != null) {
                for (TensorSpec t : side.specs()) {
                    if (t.dtype().decodable()) {
                        out.add(t.dtype());
                    }
                }
            }
        }
        return out;
    }

    /** The dtype holding most of a side's bytes. */
    private static Dtype mainDtype(TensorSource side) {
        Map<Dtype, Long> bytes = new EnumMap<>(Dtype.class);
        for (TensorSpec t : side.specs()) {
            bytes.merge(t.dtype(), t.byteSize(), Long::sum);
        }
        return bytes.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(Dtype.F32);
    }

    private static Side side(TensorSource side, Layout layout, boolean throughPlan, Optional<Path> adapter,
                             long nanos) {
        return new Side(side.location(), layout, throughPlan, adapter, mainDtype(side), side.bytesRead(), nanos);
    }

    static VerificationReport compare(ForwardResult a, ForwardResult b, Tolerance tolerance, int layersTotal,
                                      ExpertCheckResult experts, Side sourceSide, Side convertedSide) {
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
            boolean dense = ra.experts() == 0;
            List<int[]> ea = new ArrayList<>();
            List<int[]> eb = new ArrayList<>();
            int agree = 0;
            for (int p = 0; p < t && !dense; p++) {
                ea.add(ra.chosenSet(p));
                eb.add(rb.chosenSet(p));
                agree += Arrays.equals(ea.get(p), eb.get(p)) ? 1 : 0;
            }
            if (diff > allowed) {
                failures.add(String.format(Locale.ROOT,
                        "hidden states after layer %d differ by up to %.3g (allowed %.3g)", l, diff, allowed));
            }
            if (!dense && agree < t) {
                failures.add("the routers of layer " + l + " chose different experts at " + (t - agree) + " of "
                        + t + " positions");
            }
            layers.add(new LayerComparison(l, diff, allowed, maxAbsDiff(ra.logits(), rb.logits()), agree, ea, eb,
                    dense));
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
        failures.addAll(experts.failures());
        return new VerificationReport(failures.isEmpty(), true, experts, allowed, max, tokens, a.layersRun(),
                layersTotal, layers,
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
