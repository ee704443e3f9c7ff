package dev.fusebox.converter.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.tensor.Dtype;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * A model's config.json, read tolerantly: both the 4.x spellings ({@code rope_theta}, {@code torch_dtype}) and
 * the v5 ones ({@code rope_parameters.rope_theta}, {@code dtype}), and the expert-count names of the different
 * families. Fields the file leaves out are empty; fields of the wrong type are refused with their name.
 */
public final class ModelConfig {

    private final Path file;
    private final ObjectNode raw;
    private final String modelType;
    private final List<String> architectures;
    private final OptionalInt hiddenSize;
    private final OptionalInt intermediateSize;
    private final OptionalInt moeIntermediateSize;
    private final OptionalInt numHiddenLayers;
    private final OptionalInt numAttentionHeads;
    private final OptionalInt numKeyValueHeads;
    private final OptionalInt headDim;
    private final OptionalInt numExperts;
    private final OptionalInt numExpertsPerTok;
    private final OptionalInt vocabSize;
    private final OptionalDouble rmsNormEps;
    private final OptionalDouble ropeTheta;
    private final Optional<Dtype> dtype;
    private final Optional<Boolean> tieWordEmbeddings;

    private ModelConfig(Path file, ObjectNode raw) throws FuseboxException {
        Problem p = Problem.INVALID_CONFIG;
        this.file = file;
        this.raw = raw;
        this.modelType = JsonFiles.stringField(file, raw, "model_type", p);
        this.architectures = JsonFiles.stringList(file, raw, "architectures", p);
        this.hiddenSize = JsonFiles.positiveIntField(file, raw, "hidden_size", p);
        this.intermediateSize = JsonFiles.positiveIntField(file, raw, "intermediate_size", p);
        this.moeIntermediateSize = JsonFiles.positiveIntField(file, raw, "moe_intermediate_size", p);
        this.numHiddenLayers = JsonFiles.positiveIntField(file, raw, "num_hidden_layers", p);
        this.numAttentionHeads = JsonFiles.positiveIntField(file, raw, "num_attention_heads", p);
        this.numKeyValueHeads = JsonFiles.positiveIntField(file, raw, "num_key_value_heads", p);
        this.headDim = JsonFiles.positiveIntField(file, raw, "head_dim", p);
        this.numExperts = firstPresent(
                JsonFiles.positiveIntField(file, raw, "num_local_experts", p),
                JsonFiles.positiveIntField(file, raw, "num_experts", p),
                JsonFiles.positiveIntField(file, raw, "n_routed_experts", p));
        this.numExpertsPerTok = JsonFiles.positiveIntField(file, raw, "num_experts_per_tok", p);
        this.vocabSize = JsonFiles.positiveIntField(file, raw, "vocab_size", p);
        this.rmsNormEps = JsonFiles.doubleField(file, raw, "rms_norm_eps", p);
        this.ropeTheta = readRopeTheta(file, raw);
        this.dtype = readDtype(file, raw);
        this.tieWordEmbeddings = Optional.ofNullable(JsonFiles.booleanField(file, raw, "tie_word_embeddings", p));
    }

    /** Reads and checks config.json. */
    public static ModelConfig read(Path file) throws FuseboxException {
        return new ModelConfig(file, JsonFiles.readObject(file, Problem.INVALID_CONFIG));
    }

    /** A config from an already parsed object (for configs found inside other files). */
    public static ModelConfig of(Path file, ObjectNode raw) throws FuseboxException {
        return new ModelConfig(file, raw.deepCopy());
    }

    private static OptionalDouble readRopeTheta(Path file, ObjectNode raw) throws FuseboxException {
        OptionalDouble top = JsonFiles.doubleField(file, raw, "rope_theta", Problem.INVALID_CONFIG);
        if (top.isPresent()) {
            return top;
        }
        JsonNode params = raw.get("rope_parameters");
        if (params != null && params.isObject()) {
            return JsonFiles.doubleField(file, params, "rope_theta", Problem.INVALID_CONFIG);
        }
        return OptionalDouble.empty();
    }

    private static Optional<Dtype> readDtype(Path file, ObjectNode raw) throws FuseboxException {
        String name = JsonFiles.stringField(file, raw, "dtype", Problem.INVALID_CONFIG);
        if (name == null) {
            name = JsonFiles.stringField(file, raw, "torch_dtype", Problem.INVALID_CONFIG);
        }
        if (name == null || name.equals("auto")) {
            return Optional.empty();
        }
        String n = name;
        return Optional.of(Dtype.fromTorchName(n).orElseThrow(() -> new FuseboxException(Problem.INVALID_CONFIG,
                file, "names the dtype '" + n + "', which Fusebox does not know")));
    }

    private static OptionalInt firstPresent(OptionalInt... values) {
        for (OptionalInt v : values) {
            if (v.isPresent()) {
                return v;
            }
        }
        return OptionalInt.empty();
    }

    public Path file() {
        return file;
    }

    /** The whole parsed file, for fields this class does not name. */
    public ObjectNode raw() {
        return raw.deepCopy();
    }

    public Optional<String> modelType() {
        return Optional.ofNullable(modelType);
    }

    public List<String> architectures() {
        return architectures;
    }

    public OptionalInt hiddenSize() {
        return hiddenSize;
    }

    /** The expert MLP width: {@code moe_intermediate_size} where the family has one, else {@code intermediate_size}. */
    public OptionalInt expertIntermediateSize() {
        return moeIntermediateSize.isPresent() ? moeIntermediateSize : intermediateSize;
    }

    public OptionalInt intermediateSize() {
        return intermediateSize;
    }

    public OptionalInt numHiddenLayers() {
        return numHiddenLayers;
    }

    public OptionalInt numAttentionHeads() {
        return numAttentionHeads;
    }

    /** Key/value heads; defaults to the attention heads when the file leaves it out, as transformers does. */
    public OptionalInt numKeyValueHeads() {
        return numKeyValueHeads.isPresent() ? numKeyValueHeads : numAttentionHeads;
    }

    /** {@code head_dim}, or hidden / heads when the file leaves it out. */
    public OptionalInt headDim() {
        if (headDim.isPresent()) {
            return headDim;
        }
        if (hiddenSize.isPresent() && numAttentionHeads.isPresent()) {
            return OptionalInt.of(hiddenSize.getAsInt() / numAttentionHeads.getAsInt());
        }
        return OptionalInt.empty();
    }

    /** Routed experts per MoE layer, under whichever name the family uses. */
    public OptionalInt numExperts() {
        return numExperts;
    }

    public OptionalInt numExpertsPerTok() {
        return numExpertsPerTok;
    }

    public OptionalInt vocabSize() {
        return vocabSize;
    }

    public OptionalDouble rmsNormEps() {
        return rmsNormEps;
    }

    /** RoPE base, from {@code rope_theta} (4.x) or {@code rope_parameters.rope_theta} (v5). */
    public OptionalDouble ropeTheta() {
        return ropeTheta;
    }

    /** Weight dtype, from {@code dtype} (v5) or {@code torch_dtype} (4.x). */
    public Optional<Dtype> dtype() {
        return dtype;
    }

    public Optional<Boolean> tieWordEmbeddings() {
        return tieWordEmbeddings;
    }
}
