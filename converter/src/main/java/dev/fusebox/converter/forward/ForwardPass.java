package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The causal LM forward pass of the MoE families in {@link ModelDims#MODEL_TYPES}, in float32, as transformers'
 * modeling files compute it (DESIGN.md §1): pre-norm decoder layers of GQA attention with RoPE and a causal
 * (optionally windowed) softmax, then a sparse MoE block whose {@link Router} chooses the experts; final RMSNorm;
 * lm_head. One sequence, no cache. Mixtral is the plain case; the other families add what their modeling files
 * add ({@link ModelDims}): attention biases, q/k RMSNorm before RoPE (per head, or over the whole projection, then
 * OLMoE's clamp of q, k and v), partial or interleaved RoPE, softmax or group-limited sigmoid routing with a
 * correction bias, dense MLP layers, and shared experts (Qwen2's scaled by the sigmoid of its gate). Weights come
 * from a {@link ModelWeights} view, so the same code runs the legacy and the v5 layout.
 */
public final class ForwardPass {

    private final ModelWeights weights;
    private final ModelDims dims;
    private final Kernel kernel;

    public ForwardPass(ModelWeights weights, Kernel kernel) {
        this.weights = weights;
        this.dims = weights.dims();
        this.kernel = kernel;
    }

    public ForwardPass(ModelWeights weights) {
        this(weights, Kernel.best());
    }

    /** Runs {@code tokens} through the first {@code layers} layers, then the final norm and lm_head. */
    public ForwardResult run(int[] tokens, int layers, ProgressListener progress, Cancellation cancellation)
            throws FuseboxException {
        checkTokens(tokens);
        if (layers < 1 || layers > dims.layers()) {
            throw new FuseboxException(Problem.UNSUPPORTED, weights.location(),
                    "has " + dims.layers() + " layers, so it cannot run " + layers);
        }
        long start = System.nanoTime();
        MatMul mm = new MatMul(kernel, Runtime.getRuntime().availableProcessors());
        int t = tokens.length;
        int h = dims.hidden();
        String side = weights.layout().jsonName();
        float[] state = embed(tokens, mm);
        List<float[]> hidden = new ArrayList<>();
        hidden.add(state.clone());
        List<RouterOutput> routers = new ArrayList<>();
        List<float[]> expertInputs = new ArrayList<>();
        float[] rope = ropeTable(t);
        for (int l = 0; l < layers; l++) {
            cancellation.check();
            progress.onProgress(new Progress(0, 0, l, layers + 1, side + ": layer " + l));
            float[] x = rmsNorm(state, weights.inputNorm(l), t, mm);
            add(state, attention(l, x, t, rope, mm));
            x = rmsNorm(state, weights.postAttentionNorm(l), t, mm);
            expertInputs.add(x);
            if (dims.dense(l)) {
                routers.add(new RouterOutput(l, t, 0, 0, new float[0], new int[0], new float[0]));
                add(state, mlp(weights.denseMlp(l), x, t, mm));
            } else {
                RouterOutput router = route(l, x, t, mm);
                routers.add(router);
                add(state, experts(l, x, t, router, mm, cancellation));
                if (dims.sharedExpert().isPresent()) {
                    add(state, sharedExpert(l, x, t, mm));
                }
            }
            hidden.add(state.clone());
        }
        cancellation.check();
        progress.onProgress(new Progress(0, 0, layers, layers + 1, side + ": lm_head"));
        float[] normed = rmsNorm(state, weights.finalNorm(), t, mm);
        float[] logits = mm.apply(weights.lmHead(), normed, t);
        progress.onProgress(new Progress(0, 0, layers + 1, layers + 1, side + ": done"));
        return new ForwardResult(tokens.clone(), layers, h, dims.vocab(), List.copyOf(hidden),
                List.copyOf(expertInputs), normed,
                List.copyOf(routers), logits, mm.bytesRead(), System.nanoTime() - start);
    }

    private void checkTokens(int[] tokens) throws FuseboxException {
        if (tokens.length == 0) {
            throw new FuseboxException(Problem.UNSUPPORTED, weights.location(), "needs at least one token to run");
        }
        for (int token : tokens) {
            if (token < 0 || token >= dims.vocab()) {
                throw new FuseboxException(Problem.UNSUPPORTED, weights.location(), "has a vocabulary of "
                        + dims.vocab() + " tokens, so the token id " + token + " is outside it");
            }
        }
    }

    private float[] embed(int[] tokens, MatMul mm) throws FuseboxException {
        int h = dims.hidden();
        float[] out = new float[tokens.length * h];
        float[] row = new float[h];
        for (int p = 0; p < tokens.length; p++) {
            WeightMatrix embedding = weights.embedding(tokens[p]);
            embedding.decodeRow(0, row);
            System.arraycopy(row, 0, out, p * h, h);
            mm.countRead(embedding.byteSize());
        }
        return out;
    }

    /** {@code x · rsqrt(mean(x²) + eps) · w} per token, the mean taken in double. */
    private float[] rmsNorm(float[] x, WeightMatrix weight, int tokens, MatMul mm) {
        return rmsNorm(x, weight, tokens, dims.hidden(), mm);
    }

    /** The same over rows of {@code h} values: {@code tokens} of them. */
    private float[] rmsNorm(float[] x, WeightMatrix weight, int tokens, int h, MatMul mm) {
        float[] w = weight.decodeAll();
        mm.countRead(weight.byteSize());
        float[] out = new float[x.length];
        for (int t = 0; t < tokens; t++) {
            double sum = 0;
            for (int i = 0; i < h; i++) {
                float v = x[t * h + i];
                sum += v * v;
            }
            float inv = (float) (1.0 / Math.sqrt(sum / h + dims.rmsNormEps()));
            for (int i = 0; i < h; i++) {
                out[t * h + i] = w[i] * (x[t * h + i] * inv);
            }
        }
        return out;
    }

    /**
     * cos and sin per position and frequency, [tokens][rotaryDim / 2][2], computed in float32 as transformers does
     * (its inverse frequencies and angles are float32 even in a float64 model).
     */
    private float[] ropeTable(int tokens) {
        int half = dims.rotaryDim() / 2;
        float[] table = new float[tokens * half * 2];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / dims.rotaryDim();
            float invFreq = (float) (1.0 / (float) Math.pow(dims.ropeTheta(), exponent));
            for (int p = 0; p < tokens; p++) {
                float angle = invFreq * p;
                table[(p * half + i) * 2] = (float) Math.cos(angle);
                table[(p * half + i) * 2 + 1] = (float) Math.sin(angle);
            }
        }
        return table;
    }

    /**
     * Turns the first rotaryDim channels of each head: channel i with channel rotaryDim / 2 + i (rotate-half), or
     * ERNIE's channel 2i with 2i + 1 (interleaved); the rest pass through.
     */
    private void applyRope(float[] x, int tokens, int heads, float[] rope) {
        int d = dims.headDim();
        int half = dims.rotaryDim() / 2;
        boolean interleaved = dims.ropeInterleaved();
        for (int p = 0; p < tokens; p++) {
            for (int hd = 0; hd < heads; hd++) {
                int base = (p * heads + hd) * d;
                for (int i = 0; i < half; i++) {
                    float cos = rope[(p * half + i) * 2];
                    float sin = rope[(p * half + i) * 2 + 1];
                    int a = base + (interleaved ? 2 * i : i);
                    int b = base + (interleaved ? 2 * i + 1 : half + i);
                    float x1 = x[a];
                    float x2 = x[b];
                    x[a] = x1 * cos - x2 * sin;
                    x[b] = x2 * cos + x1 * sin;
                }
            }
        }
    }

    private float[] attention(int layer, float[] x, int tokens, float[] rope, MatMul mm) throws FuseboxException {
        float[] q = projection(layer, "q_proj", x, tokens, mm);
        float[] k = projection(layer, "k_proj", x, tokens, mm);
        float[] v = projection(layer, "v_proj", x, tokens, mm);
        QkNorm norm = dims.qkNorm();
        switch (norm) {
            case PER_HEAD -> {
                q = rmsNorm(q, weights.headNorm(layer, norm.queryNorm()), tokens * dims.heads(), dims.headDim(), mm);
                k = rmsNorm(k, weights.headNorm(layer, norm.keyNorm()), tokens * dims.kvHeads(), dims.headDim(), mm);
            }
            case WHOLE -> {
                q = rmsNorm(q, weights.headNorm(layer, norm.queryNorm()), tokens, dims.qWidth(), mm);
                k = rmsNorm(k, weights.headNorm(layer, norm.keyNorm()), tokens, dims.kvWidth(), mm);
            }
            case NONE, PER_HEAD_AFTER_ROPE -> {
            }
        }
        if (dims.clipQkv() > 0) {
            clamp(q);
            clamp(k);
            clamp(v);
        }
        applyRope(q, tokens, dims.heads(), rope);
        applyRope(k, tokens, dims.kvHeads(), rope);
        if (norm == QkNorm.PER_HEAD_AFTER_ROPE) {
            q = rmsNorm(q, weights.headNorm(layer, norm.queryNorm()), tokens * dims.heads(), dims.headDim(), mm);
            k = rmsNorm(k, weights.headNorm(layer, norm.keyNorm()), tokens * dims.kvHeads(), dims.headDim(), mm);
        }
        int d = dims.headDim();
        int group = dims.heads() / dims.kvHeads();
        int qWidth = dims.qWidth();
        int kvWidth = dims.kvWidth();
        float scale = (float) Math.pow(d, -0.5);
        float[] out = new float[tokens * qWidth];
        float[] scores = new float[tokens];
        for (int hd = 0; hd < dims.heads(); hd++) {
            int kvOffset = (hd / group) * d;
            for (int i = 0; i < tokens; i++) {
                int first = dims.slidingWindow() > 0 ? Math.max(0, i - dims.slidingWindow() + 1) : 0;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = first; j <= i; j++) {
                    scores[j] = kernel.dot(q, i * qWidth + hd * d, k, j * kvWidth + kvOffset, d) * scale;
                    max = Math.max(max, scores[j]);
                }
                float sum = 0;
                for (int j = first; j <= i; j++) {
                    scores[j] = (float) Math.exp(scores[j] - max);
                    sum += scores[j];
                }
                int o = i * qWidth + hd * d;
                for (int j = first; j <= i; j++) {
                    float p = scores[j] / sum;
                    int vo = j * kvWidth + kvOffset;
                    for (int c = 0; c < d; c++) {
                        out[o + c] += p * v[vo + c];
                    }
                }
            }
        }
        return projection(layer, "o_proj", out, tokens, mm);
    }

    private void clamp(float[] x) {
        float c = (float) dims.clipQkv();
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.max(-c, Math.min(c, x[i]));
        }
    }

    /** An attention projection, with its bias when it has one. */
    private float[] projection(int layer, String name, float[] x, int tokens, MatMul mm) throws FuseboxException {
        float[] y = mm.apply(weights.attention(layer, name), x, tokens);
        Optional<WeightMatrix> bias = weights.attentionBias(layer, name);
        if (bias.isPresent()) {
            float[] b = bias.get().decodeAll();
            mm.countRead(bias.get().byteSize());
            for (int i = 0; i < y.length; i++) {
                y[i] += b[i % b.length];
            }
        }
        return y;
    }

    /** {@code down(silu(gate(x)) · up(x))} on {@code tokens} rows. */
    private static float[] mlp(Expert expert, float[] x, int tokens, MatMul mm) throws FuseboxException {
        float[] gate = mm.apply(expert.gate(), x, tokens);
        float[] up = mm.apply(expert.up(), x, tokens);
        for (int i = 0; i < gate.length; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
        return mm.apply(expert.down(), gate, tokens);
    }

    /** The shared expert on every token; Qwen2-MoE's times the sigmoid of its gate. */
    private float[] sharedExpert(int layer, float[] x, int tokens, MatMul mm) throws FuseboxException {
        float[] out = mlp(weights.sharedExpert(layer), x, tokens, mm);
        if (!dims.sharedExpert().orElseThrow().gated()) {
            return out;
        }
        float[] gate = mm.apply(weights.sharedExpertGate(layer), x, tokens);
        int h = dims.hidden();
        for (int t = 0; t < tokens; t++) {
            float s = 1f / (1f + (float) Math.exp(-gate[t]));
            for (int i = 0; i < h; i++) {
                out[t * h + i] *= s;
            }
        }
        return out;
    }

    private RouterOutput route(int layer, float[] x, int tokens, MatMul mm) throws FuseboxException {
        float[] logits = mm.apply(weights.router(layer), x, tokens);
        Optional<float[]> bias = Optional.empty();
        Optional<WeightMatrix> stored = weights.correctionBias(layer);
        if (stored.isPresent()) {
            bias = Optional.of(stored.get().decodeAll());
            mm.countRead(stored.get().byteSize());
        }
        return dims.router().route(layer, logits, tokens, bias);
    }

    /** The MoE output: each chosen expert run once on the tokens routed to it, weighted, summed in expert order. */
    private float[] experts(int layer, float[] x, int tokens, RouterOutput router, MatMul mm,
                            Cancellation cancellation) throws FuseboxException {
        int h = dims.hidden();
        int k = dims.topK();
        float[] out = new float[tokens * h];
        for (int e = 0; e < dims.experts(); e++) {
            int[] routed = new int[tokens];
            float[] routedWeights = new float[tokens];
            int n = 0;
            for (int t = 0; t < tokens; t++) {
                for (int j = 0; j < k; j++) {
                    if (router.chosen()[t * k + j] == e) {
                        routed[n] = t;
                        routedWeights[n++] = router.weights()[t * k + j];
                    }
                }
            }
            if (n == 0) {
                continue;
            }
            cancellation.check();
            float[] xe = new float[n * h];
            for (int j = 0; j < n; j++) {
                System.arraycopy(x, routed[j] * h, xe, j * h, h);
            }
            float[] down = mlp(weights.expert(layer, e), xe, n, mm);
            for (int j = 0; j < n; j++) {
                float w = routedWeights[j];
                int o = routed[j] * h;
                for (int i = 0; i < h; i++) {
                    out[o + i] += down[j * h + i] * w;
                }
            }
        }
        return out;
    }

    private static void add(float[] state, float[] delta) {
        for (int i = 0; i < state.length; i++) {
            state[i] += delta[i];
        }
    }
}
