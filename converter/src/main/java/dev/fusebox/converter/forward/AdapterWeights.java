package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.lora.AdapterTensors;
import dev.fusebox.converter.lora.LoraPair;
import dev.fusebox.converter.lora.PeftPatterns;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A PEFT LoRA adapter as the forward pass applies it: its lora_A / lora_B pairs by the module name PEFT gives
 * them (sorted as {@link AdapterTensors} sorts them for conversion), with rank and scale from the config as PEFT
 * reads it ({@link PeftPatterns}: r, lora_alpha, use_rslora, rank_pattern, alpha_pattern), and with use_dora each
 * linear module's DoRA magnitude. The weights claim the modules they have; a pair no module claims means the
 * adapter does not fit the base.
 */
final class AdapterWeights {

    /** The key ending PEFT saves a DoRA magnitude under ({@code lora_magnitude_vector.default.weight} in memory). */
    private static final String MAGNITUDE = ".lora_magnitude_vector";

    private final Checkpoint adapter;
    private final AdapterConfig config;
    private final Map<String, LoraPair> pairs;
    /** DoRA's magnitude of each module, by module name (with use_dora, one for every pair). */
    private final Map<String, TensorSpec> magnitudes;
    private final Set<String> claimed = new HashSet<>();

    private AdapterWeights(Checkpoint adapter, AdapterConfig config, Map<String, LoraPair> pairs,
                           Map<String, TensorSpec> magnitudes) {
        this.adapter = adapter;
        this.config = config;
        this.pairs = pairs;
        this.magnitudes = magnitudes;
    }

    static AdapterWeights of(Checkpoint adapter) throws FuseboxException {
        Path file = adapter.location();
        if (adapter.kind() != CheckpointKind.ADAPTER) {
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, file, "is a model, not a PEFT adapter");
        }
        AdapterConfig config = adapter.adapterConfig().orElseThrow(() -> new FuseboxException(
                Problem.NOT_A_CHECKPOINT, file, "has no adapter_config.json, which gives the adapter's rank and alpha"));
        if (!config.peftType().equals("LORA")) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(),
                    "is a " + config.peftType() + " adapter, and the forward pass applies LoRA only");
        }
        AdapterTensors tensors = AdapterTensors.of(file, adapter.specs());
        Map<String, TensorSpec> magnitudes = new HashMap<>();
        for (TensorSpec other : tensors.others()) {
            String key = other.key();
            if (!config.useDora() || !key.endsWith(MAGNITUDE)) {
                throw new FuseboxException(Problem.UNSUPPORTED, stored(adapter, other).file().path(), key,
                        "is not a lora_A or lora_B weight of a linear layer or expert parameter"
                                + (config.useDora() ? " nor a DoRA magnitude" : "")
                                + ", which is all the forward pass applies");
            }
            magnitudes.put(key.substring(AdapterTensors.PREFIX.length(), key.length() - MAGNITUDE.length()), other);
        }
        if (config.useDora()) {
            for (LoraPair p : tensors.pairs().values()) {
                if (!magnitudes.containsKey(p.module())) {
                    throw new FuseboxException(Problem.MISSING_TENSOR, stored(adapter, p.a()).file().path(),
                            AdapterTensors.PREFIX + p.module() + MAGNITUDE, "adapter_config.json sets use_dora, so "
                            + "every LoRA module has a DoRA magnitude, but this one is missing");
                }
            }
            for (Map.Entry<String, TensorSpec> m : magnitudes.entrySet()) {
                if (!tensors.pairs().containsKey(m.getKey())) {
                    throw new FuseboxException(Problem.INVALID_ADAPTER, stored(adapter, m.getValue()).file().path(),
                            m.getValue().key(), "it is a DoRA magnitude, but the adapter has no LoRA factors for "
                            + m.getKey());
                }
            }
        }
        return new AdapterWeights(adapter, config, tensors.pairs(), magnitudes);
    }

    private static StoredTensor stored(Checkpoint adapter, TensorSpec spec) {
        return adapter.tensor(spec.key()).orElseThrow();
    }

    Path file() {
        return adapter.location();
    }

    /** Whether the config targets {@code parameter} (a stacked or 2-D parameter PEFT wraps). */
    boolean targetsParameter(String parameter) {
        return config.targetsParameter(parameter);
    }

    /**
     * Claims the pair of {@code module}, when the adapter has one, checked against the base: a lora.Linear when
     * {@code experts} is 1, a ParamWrapper over a stacked parameter otherwise. {@code patternKey} is the name PEFT
     * matches rank_pattern and alpha_pattern against (the module's own name, or module.parameter for a
     * ParamWrapper).
     */
    Optional<LoraFactors> claim(String module, String patternKey, int experts, int in, int out)
            throws FuseboxException {
        LoraPair p = pairs.get(module);
        if (p == null) {
            return Optional.empty();
        }
        claimed.add(module);
        int rank = PeftPatterns.rank(config, patternKey);
        double alpha = PeftPatterns.alpha(config, patternKey);
        long stacked = (long) rank * experts;
        StoredTensor a = stored(adapter, p.a());
        StoredTensor b = stored(adapter, p.b());
        expect(a, Shape.of(stacked, in), module, rank, experts);
        expect(b, Shape.of(out, stacked), module, rank, experts);
        float scale = (float) PeftPatterns.scale(config.useRslora(), rank, alpha);
        Optional<StoredTensor> magnitude = Optional.ofNullable(magnitudes.get(module)).map(m -> stored(adapter, m));
        if (magnitude.isPresent()) {
            if (experts != 1 || !patternKey.equals(module)) {
                throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "sets use_dora, and PEFT's "
                        + "ParamWrapper (which holds " + patternKey + "'s LoRA) raises \"lora.ParamWrapper does not "
                        + "work with use_dora=True.\"; DoRA on a parameter has no form PEFT loads");
            }
            StoredTensor m = magnitude.get();
            if (!m.shape().equals(Shape.of(out)) || !m.dtype().decodable()) {
                throw new FuseboxException(Problem.SHAPE_MISMATCH, m.file().path(), m.key(), "is " + m.dtype().name()
                        + " " + m.shape() + ", but DoRA's magnitude of the base's '" + module + "' is one float per "
                        + "output row, " + Shape.of(out));
            }
        }
        return Optional.of(new LoraFactors(module, a, b, rank, experts, in, out, scale, magnitude));
    }

    /** Fails on the first pair no module of the base claimed. */
    void checkAllClaimed() throws FuseboxException {
        for (LoraPair p : pairs.values()) {
            if (!claimed.contains(p.module())) {
                throw new FuseboxException(Problem.SHAPE_MISMATCH, stored(adapter, p.a()).file().path(), p.a().key(),
                        "adapts '" + p.module() + "', which the base model does not have in this layout");
            }
        }
    }

    private void expect(StoredTensor t, Shape shape, String module, int rank, int experts) throws FuseboxException {
        if (!t.shape().equals(shape)) {
            String rankText = experts == 1 ? "rank " + rank : "rank " + rank + " × " + experts + " experts";
            throw new FuseboxException(Problem.SHAPE_MISMATCH, t.file().path(), t.key(), "is " + t.shape()
                    + ", but the base's '" + module + "' with the config's " + rankText + " needs " + shape);
        }
    }
}
