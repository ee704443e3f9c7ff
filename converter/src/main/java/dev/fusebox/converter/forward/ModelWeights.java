package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tensor.TensorSource;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The weights of a Mixtral as the forward pass reads them, a range at a time from a {@link TensorSource} (a
 * checkpoint's files, or a conversion read through its plan), with an optional LoRA
 * adapter applied beside them. Attention, norms, embeddings and lm_head have the same keys in both layouts; the
 * router and the experts are where the two views differ ({@link LegacyWeights}, {@link V5Weights}). Opening checks
 * every tensor the model needs and every adapter pair against the shapes the config implies; data is decoded only
 * when a pass asks for it, so only the experts the router picks are read.
 */
public abstract sealed class ModelWeights permits LegacyWeights, V5Weights {

    private final TensorSource tensors;
    private final ModelDims dims;
    private final AdapterWeights adapter;
    private final Map<String, LoraFactors> lora = new HashMap<>();

    ModelWeights(TensorSource tensors, ModelDims dims, AdapterWeights adapter) {
        this.tensors = tensors;
        this.dims = dims;
        this.adapter = adapter;
    }

    /**
     * Opens the weights of {@code model} in the layout its keys show, with {@code config} (the model's own, or the
     * source's for a bare converted file) and an optional adapter in the same layout.
     */
    public static ModelWeights open(Checkpoint model, ModelConfig config, Optional<Checkpoint> adapter)
            throws FuseboxException {
        return open(new CheckpointTensors(model), model.layout(), config, adapter);
    }

    /** Opens the weights {@code tensors} holds in {@code layout}; see {@link #open(Checkpoint, ModelConfig, Optional)}. */
    public static ModelWeights open(TensorSource model, Layout layout, ModelConfig config,
                                      Optional<Checkpoint> adapter) throws FuseboxException {
        ModelDims dims = ModelDims.of(config);
        AdapterWeights a = adapter.isPresent() ? AdapterWeights.of(adapter.get()) : null;
        ModelWeights w = switch (layout) {
            case LEGACY -> new LegacyWeights(model, dims, a);
            case V5 -> new V5Weights(model, dims, a);
            case UNKNOWN -> throw new FuseboxException(Problem.UNSUPPORTED, model.location(),
                    "has neither the legacy per-expert nor the v5 fused expert layout");
        };
        w.checkCommon();
        w.checkExperts();
        if (a != null) {
            a.checkAllClaimed();
        }
        return w;
    }

    public ModelDims dims() {
        return dims;
    }

    public abstract Layout layout();

    public Path location() {
        return tensors.location();
    }

    public Optional<Path> adapterLocation() {
        return Optional.ofNullable(adapter).map(AdapterWeights::file);
    }

    /** Row {@code token} of the embedding table [vocab, hidden]; the pass reads only the rows of its tokens. */
    public WeightMatrix embedding(int token) throws FuseboxException {
        return block("model.embed_tokens.weight", (long) token * dims.hidden(), 1, dims.hidden());
    }

    /** Bytes of weights read from the files so far. */
    public long bytesRead() {
        return tensors.bytesRead();
    }

    public Linear lmHead() throws FuseboxException {
        String key = dims.tieWordEmbeddings() && tensors.spec("lm_head.weight").isEmpty()
                ? "model.embed_tokens.weight" : "lm_head.weight";
        return linear(key, "lm_head");
    }

    /** The final RMSNorm's weight, as one row. */
    public WeightMatrix finalNorm() throws FuseboxException {
        return vector("model.norm.weight");
    }

    public WeightMatrix inputNorm(int layer) throws FuseboxException {
        return vector(layerPrefix(layer) + "input_layernorm.weight");
    }

    public WeightMatrix postAttentionNorm(int layer) throws FuseboxException {
        return vector(layerPrefix(layer) + "post_attention_layernorm.weight");
    }

    /** One of q_proj, k_proj, v_proj, o_proj. */
    public Linear attention(int layer, String projection) throws FuseboxException {
        String module = layerPrefix(layer) + "self_attn." + projection;
        return linear(module + ".weight", module);
    }

    /** The bias of {@code projection}, when the family gives it one. */
    public Optional<WeightMatrix> attentionBias(int layer, String projection) throws FuseboxException {
        return dims.biased().contains(projection)
                ? Optional.of(vector(layerPrefix(layer) + "self_attn." + projection + ".bias")) : Optional.empty();
    }

    /**
     * The RMSNorm weight of the queries or keys ({@link QkNorm#queryNorm()}, {@link QkNorm#keyNorm()}): [headDim]
     * per head, the projection's width over the whole projection.
     */
    public WeightMatrix headNorm(int layer, String norm) throws FuseboxException {
        return vector(layerPrefix(layer) + "self_attn." + norm + ".weight");
    }

    /** A dense layer's MLP, {@code mlp.gate_proj}, {@code up_proj}, {@code down_proj} in both layouts. */
    public Expert denseMlp(int layer) throws FuseboxException {
        return mlp(layerPrefix(layer) + "mlp.");
    }

    /** The layer's shared expert, the same in both layouts. */
    public Expert sharedExpert(int layer) throws FuseboxException {
        return mlp(sharedPrefix(layer));
    }

    private String sharedPrefix(int layer) {
        return layerPrefix(layer) + "mlp." + dims.sharedExpert().orElseThrow().module() + ".";
    }

    /** The router's correction bias as one row of [experts], when the family has one. */
    public Optional<WeightMatrix> correctionBias(int layer) throws FuseboxException {
        if (dims.correctionBias() == CorrectionBias.NONE) {
            return Optional.empty();
        }
        String key = correctionBiasKey(layer);
        return Optional.of(block(key, 0, 1, dims.experts()));
    }

    /** Where the layout keeps the correction bias of {@code layer}'s router. */
    abstract String correctionBiasKey(int layer);

    /** The shared expert's gate [1, hidden], whose sigmoid scales its output. */
    public Linear sharedExpertGate(int layer) throws FuseboxException {
        String module = layerPrefix(layer) + "mlp.shared_expert_gate";
        return linear(module + ".weight", module);
    }

    private Expert mlp(String prefix) throws FuseboxException {
        return new Expert(linear(prefix + "gate_proj.weight", prefix + "gate_proj"),
                linear(prefix + "up_proj.weight", prefix + "up_proj"),
                linear(prefix + "down_proj.weight", prefix + "down_proj"));
    }

    /** The router's linear map [experts, hidden]. */
    public abstract Linear router(int layer) throws FuseboxException;

    public abstract Expert expert(int layer, int expert) throws FuseboxException;

    /** Bytes of every tensor the first {@code layers} layers and the ends of the model hold, adapters included. */
    public long bytesFor(int layers) {
        long n = 0;
        for (TensorSpec t : tensors.specs()) {
            int layer = layerOf(t.key());
            if (layer < layers) {
                n = Math.addExact(n, t.byteSize());
            }
        }
        for (LoraFactors f : lora.values()) {
            if (layerOf(f.module()) < layers) {
                n = Math.addExact(n, Math.addExact(f.a().byteSize(), f.b().byteSize()));
            }
        }
        return n;
    }

    static String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    /** The layer a key belongs to, or -1 for the embeddings, the final norm and lm_head. */
    private static int layerOf(String key) {
        int i = key.indexOf("model.layers.");
        if (i < 0) {
            return -1;
        }
        int from = i + "model.layers.".length();
        int to = key.indexOf('.', from);
        try {
            return Integer.parseInt(key.substring(from, to < 0 ? key.length() : to));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Checks the tensors both layouts share, and claims their adapter pairs. */
    private void checkCommon() throws FuseboxException {
        int h = dims.hidden();
        require("model.embed_tokens.weight", dims.vocab(), h);
        if (!dims.tieWordEmbeddings() || tensors.spec("lm_head.weight").isPresent()) {
            require("lm_head.weight", dims.vocab(), h);
        }
        claimLinear("lm_head", h, dims.vocab());
        require("model.norm.weight", h);
        for (int l = 0; l < dims.layers(); l++) {
            String p = layerPrefix(l);
            require(p + "input_layernorm.weight", h);
            require(p + "post_attention_layernorm.weight", h);
            Optional<LatentAttentionDims> latent = dims.latentAttention();
            int[][] shapes = latent.isPresent() ? latentShapes(latent.get())
                    : new int[][] {{dims.qWidth(), h}, {dims.kvWidth(), h}, {dims.kvWidth(), h}, {h, dims.qWidth()}};
            String[] names = latent.isPresent() ? latentProjections(latent.get())
                    : new String[] {"q_proj", "k_proj", "v_proj", "o_proj"};
            for (int i = 0; i < names.length; i++) {
                String module = p + "self_attn." + names[i];
                require(module + ".weight", shapes[i][0], shapes[i][1]);
                claimLinear(module, shapes[i][1], shapes[i][0]);
                if (dims.biased().contains(names[i])) {
                    require(module + ".bias", shapes[i][0]);
                }
            }
            if (latent.isPresent()) {
                if (latent.get().qLoraRank() > 0) {
                    require(p + "self_attn.q_a_layernorm.weight", latent.get().qLoraRank());
                }
                require(p + "self_attn.kv_a_layernorm.weight", latent.get().kvLoraRank());
            }
            QkNorm norm = dims.qkNorm();
            if (norm != QkNorm.NONE) {
                require(p + "self_attn." + norm.queryNorm() + ".weight", norm.perHead() ? dims.headDim() : dims.qWidth());
                require(p + "self_attn." + norm.keyNorm() + ".weight", norm.perHead() ? dims.headDim() : dims.kvWidth());
            }
            if (dims.dense(l)) {
                requireMlp(p + "mlp.", dims.denseIntermediate());
            } else {
                if (dims.sharedExpert().isPresent()) {
                    SharedExpert shared = dims.sharedExpert().get();
                    requireMlp(sharedPrefix(l), shared.intermediate());
                    if (shared.gated()) {
                        require(p + "mlp.shared_expert_gate.weight", 1, h);
                        claimLinear(p + "mlp.shared_expert_gate", h, 1);
                    }
                }
                switch (dims.correctionBias()) {
                    case NONE -> { }
                    case MOE_STATICS -> require(correctionBiasKey(l), 1, dims.experts());
                    case ROUTER, MOE_BLOCK -> require(correctionBiasKey(l), dims.experts());
                }
            }
        }
    }

    /** The projections of latent attention, in the order of {@link #latentShapes}. */
    private static String[] latentProjections(LatentAttentionDims a) {
        return a.qLoraRank() > 0
                ? new String[] {"q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"}
                : new String[] {"q_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"};
    }

    /** [out, in] of each of {@link #latentProjections}. */
    private int[][] latentShapes(LatentAttentionDims a) {
        int h = dims.hidden();
        int[][] kv = {{a.compressedWidth(), h}, {a.kvWidth(), a.kvLoraRank()}, {h, a.outWidth()}};
        return a.qLoraRank() > 0
                ? new int[][] {{a.qLoraRank(), h}, {a.qWidth(), a.qLoraRank()}, kv[0], kv[1], kv[2]}
                : new int[][] {{a.qWidth(), h}, kv[0], kv[1], kv[2]};
    }

    private void requireMlp(String prefix, int width) throws FuseboxException {
        int h = dims.hidden();
        require(prefix + "gate_proj.weight", width, h);
        require(prefix + "up_proj.weight", width, h);
        require(prefix + "down_proj.weight", h, width);
        claimLinear(prefix + "gate_proj", h, width);
        claimLinear(prefix + "up_proj", h, width);
        claimLinear(prefix + "down_proj", width, h);
    }

    /** Checks the router and expert tensors of the layout, and claims their adapter pairs. */
    abstract void checkExperts() throws FuseboxException;

    /** The stored tensor {@code key}, which must have {@code dims} and a float dtype. */
    final TensorSpec require(String key, long... shape) throws FuseboxException {
        TensorSpec t = tensors.spec(key).orElseThrow(() -> new FuseboxException(Problem.SHAPE_MISMATCH,
                tensors.location(), key, "is missing, and the forward pass needs it"));
        if (!t.shape().equals(Shape.of(shape))) {
            throw new FuseboxException(Problem.SHAPE_MISMATCH, tensors.location(), key,
                    "is " + t.shape() + ", but the config implies " + Shape.of(shape));
        }
        if (!t.dtype().decodable()) {
            throw new FuseboxException(Problem.UNSUPPORTED, tensors.location(), key,
                    "is " + t.dtype() + ", which the forward pass does not decode (F64, F32, F16 and BF16 only)");
        }
        return t;
    }

    /** Claims the adapter pair of a lora.Linear module (or a 2-D ParamWrapper named by {@code patternKey}). */
    final void claimLinear(String module, String patternKey, int in, int out) throws FuseboxException {
        claim(module, patternKey, 1, in, out);
    }

    final void claimLinear(String module, int in, int out) throws FuseboxException {
        claim(module, module, 1, in, out);
    }

    /** Claims the adapter pair PEFT names {@code module}; see {@link AdapterWeights#claim}. */
    final void claim(String module, String patternKey, int experts, int in, int out) throws FuseboxException {
        if (adapter != null) {
            Optional<LoraFactors> f = adapter.claim(module, patternKey, experts, in, out);
            if (f.isPresent()) {
                lora.put(module, f.get());
            }
        }
    }

    final Optional<LoraFactors> lora(String module) {
        return Optional.ofNullable(lora.get(module));
    }

    final Optional<AdapterWeights> adapter() {
        return Optional.ofNullable(adapter);
    }

    /** A whole 2-D tensor as a matrix. */
    final WeightMatrix matrix(String key) throws FuseboxException {
        TensorSpec t = tensors.spec(key).orElseThrow();
        return block(key, 0, (int) t.shape().dim(0), (int) t.shape().dim(1));
    }

    /** {@code rows} × {@code cols} elements of a stored tensor from element {@code first}. */
    final WeightMatrix block(String key, long first, int rows, int cols) throws FuseboxException {
        TensorSpec t = tensors.spec(key).orElseThrow();
        long width = t.dtype().byteSize();
        long bytes = Math.multiplyExact(Math.multiplyExact((long) rows, cols), width);
        return new WeightMatrix(key, tensors.read(key, Math.multiplyExact(first, width), bytes), t.dtype(), 0,
                rows, cols);
    }

    /** A 2-D weight with the LoRA (or DoRA) update of {@code module}, if the adapter has one. */
    final Linear linear(String key, String module) throws FuseboxException {
        Optional<LoraFactors> f = lora(module);
        WeightMatrix weight = matrix(key);
        return new Linear(weight, f.isPresent() ? Optional.of(f.get().whole(weight)) : Optional.empty());
    }

    private WeightMatrix vector(String key) throws FuseboxException {
        TensorSpec t = tensors.spec(key).orElseThrow();
        return block(key, 0, 1, (int) t.shape().dim(0));
    }
}
