package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.safetensors.Shape;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A PEFT LoRA adapter as the forward pass applies it: its lora_A / lora_B pairs by the module name PEFT gives
 * them, with rank and scale from the config (r, lora_alpha, use_rslora, rank_pattern, alpha_pattern). The weights
 * claim the modules they have; a pair no module claims means the adapter does not fit the base.
 */
final class AdapterWeights {

    private static final String PREFIX = "base_model.model.";
    private static final String A_SUFFIX = ".lora_A.weight";
    private static final String B_SUFFIX = ".lora_B.weight";

    private final Path file;
    private final AdapterConfig config;
    private final Map<String, StoredTensor[]> pairs;
    private final Set<String> claimed = new HashSet<>();

    private AdapterWeights(Path file, AdapterConfig config, Map<String, StoredTensor[]> pairs) {
        this.file = file;
        this.config = config;
        this.pairs = pairs;
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
        if (config.useDora()) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(),
                    "sets use_dora, and the forward pass applies plain LoRA only");
        }
        Map<String, StoredTensor[]> pairs = new LinkedHashMap<>();
        for (StoredTensor t : adapter.tensors().values()) {
            String key = t.key();
            boolean isA = key.endsWith(A_SUFFIX);
            if (!key.startsWith(PREFIX) || !(isA || key.endsWith(B_SUFFIX))) {
                throw new FuseboxException(Problem.UNSUPPORTED, t.file().path(), key,
                        "is not a lora_A or lora_B weight of a linear layer or expert parameter, "
                                + "which is all the forward pass applies");
            }
            if (!t.dtype().decodable() || t.shape().rank() != 2) {
                throw new FuseboxException(Problem.SHAPE_MISMATCH, t.file().path(), key,
                        "is " + t.dtype() + " " + t.shape() + ", expected a 2-D float matrix");
            }
            String module = key.substring(PREFIX.length(), key.length() - A_SUFFIX.length());
            pairs.computeIfAbsent(module, m -> new StoredTensor[2])[isA ? 0 : 1] = t;
        }
        for (Map.Entry<String, StoredTensor[]> e : pairs.entrySet()) {
            StoredTensor[] p = e.getValue();
            if (p[0] == null || p[1] == null) {
                StoredTensor present = p[0] != null ? p[0] : p[1];
                throw new FuseboxException(Problem.SHAPE_MISMATCH, present.file().path(), present.key(),
                        "has no " + (p[0] == null ? "lora_A" : "lora_B") + " partner");
            }
        }
        return new AdapterWeights(file, config, pairs);
    }

    Path file() {
        return file;
    }

    /** The targeted parameter names, as the config lists them. */
    List<String> targetParameters() {
        return config.targetParameters();
    }

    /**
     * Claims the pair of {@code module}, when the adapter has one, checked against the base: a lora.Linear when
     * {@code experts} is 1, a ParamWrapper over a stacked parameter otherwise. {@code patternKey} is the name PEFT
     * matches rank_pattern and alpha_pattern against (the module's own name, or module.parameter for a
     * ParamWrapper).
     */
    Optional<LoraFactors> claim(String module, String patternKey, int experts, int in, int out)
            throws FuseboxException {
        StoredTensor[] p = pairs.get(module);
        if (p == null) {
            return Optional.empty();
        }
        claimed.add(module);
        int rank = PeftPatterns.lookup(config.rankPattern(), patternKey).orElse(config.r());
        double alpha = PeftPatterns.lookup(config.alphaPattern(), patternKey).orElse(config.loraAlpha());
        long stacked = (long) rank * experts;
        expect(p[0], Shape.of(stacked, in), module, rank, experts);
        expect(p[1], Shape.of(out, stacked), module, rank, experts);
        double scale = config.useRslora() ? alpha / Math.sqrt(rank) : alpha / rank;
        return Optional.of(new LoraFactors(module, p[0], p[1], rank, experts, in, out, (float) scale));
    }

    /** Fails on the first pair no module of the base claimed. */
    void checkAllClaimed() throws FuseboxException {
        for (Map.Entry<String, StoredTensor[]> e : pairs.entrySet()) {
            if (!claimed.contains(e.getKey())) {
                StoredTensor a = e.getValue()[0];
                throw new FuseboxException(Problem.SHAPE_MISMATCH, a.file().path(), a.key(),
                        "adapts '" + e.getKey() + "', which the base model does not have in this layout");
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
