package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What an adapter, legacy or v5, does to the base model's weights, in legacy names, as PEFT 0.21 merges it: for each
 * weight {@code module.weight} it changes, {@code ΔW = scale · B @ A} (an embedding's {@code (B @ A)ᵀ}) with views of
 * the adapter's factors (a v5 wrapper's factors cut per expert and branch as {@link V5Reading} does), DoRA's
 * magnitude where it has one; for each bias a {@code lora_bias} changes, {@code scale · lora_B.bias}; and the full
 * weights it replaces ({@code modules_to_save}, and the copies of targeted embeddings PEFT saves as
 * {@code base_layer.weight}).
 */
record AdapterDeltas(Map<String, Change> changes, Map<String, TensorSpec> replacements, List<String> notes) {

    /** A change the adapter makes to one base tensor. */
    sealed interface Change permits Delta, BiasShift, ExpertDeltas {
        String module();

        /** The LoRA scale it applies ({@code alpha / r}, or {@code alpha / sqrt(r)}). */
        double scale();
    }

    /**
     * The change to one weight [out, in]: {@code W + scale · B @ A} with B [out, r] and A [r, in]; for an embedding
     * [V, H] PEFT's {@code lora_embedding_A} [r, V] and {@code lora_embedding_B} [H, r] make
     * {@code scale · (B @ A)ᵀ}. With DoRA's {@code magnitude} m (one per output row, for an embedding one per
     * embedding dimension, that is per column), the merged weight is {@code m · (W + ΔW) / ‖W + ΔW‖} with the norm
     * over each row (an embedding's over each column), as PEFT's DoraLinearLayer and DoraEmbeddingLayer compute it.
     */
    record Delta(String module, MatrixView a, MatrixView b, double scale, boolean embedding,
                 Optional<MatrixView> magnitude) implements Change {

        long out() {
            return embedding ? a.cols() : b.rows();
        }

        long in() {
            return embedding ? b.rows() : a.cols();
        }

        int rank() {
            return Math.toIntExact(a.rows());
        }
    }

    /** A {@code lora_bias}: {@code bias + scale · lora_B.bias}, as PEFT's Linear.merge adds it. */
    record BiasShift(String module, TensorSpec bias, double scale) implements Change {
    }

    /**
     * The change to a stacked parameter [E, rows, cols] ({@link StackedParameterDeltas}): each expert's own
     * [rows, cols] delta, expert e's applying to elements [e·rows·cols, (e + 1)·rows·cols).
     */
    record ExpertDeltas(String module, List<Delta> experts, long rows, long cols) implements Change {

        ExpertDeltas {
            experts = List.copyOf(experts);
        }

        @Override
        public double scale() {
            return experts.getFirst().scale();
        }
    }

    private static final String MAGNITUDE = ".lora_magnitude_vector";
    private static final String BIAS = ".lora_B.bias";
    private static final String EMBEDDING_A = ".lora_embedding_A";
    private static final String EMBEDDING_B = ".lora_embedding_B";

    /**
     * Modules a model reads the weight of directly instead of calling them, on transformers 5: jamba's Mamba mixer
     * computes {@code dt_proj.weight @ time_step}, so PEFT 0.21 never applies a LoRA there on v5 (transformers 4.x
     * called the module, so a legacy adapter's LoRA there did act).
     */
    private static final Map<String, String> READ_DIRECTLY_ON_V5 = Map.of("jamba", ".mamba.dt_proj");

    AdapterDeltas {
        changes = Collections.unmodifiableMap(new LinkedHashMap<>(changes));
        replacements = Collections.unmodifiableMap(new LinkedHashMap<>(replacements));
        notes = List.copyOf(notes);
    }

    Optional<Change> change(String tensor) {
        return Optional.ofNullable(changes.get(tensor));
    }

    static AdapterDeltas of(Checkpoint adapter, Optional<BaseModel> base, LoraRoles roles, boolean legacy)
            throws FuseboxException {
        Path file = adapter.location();
        AdapterConfig config = AdapterPlanner.config(adapter);
        boolean loraBias = config.raw().path("lora_bias").asBoolean(false);
        if (config.useDora() && loraBias) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "sets both use_dora and lora_bias, "
                    + "which PEFT refuses: \"The argument lora_bias=True is not supported for DoRA, please pass "
                    + "use_dora=False\"");
        }
        AdapterTensors tensors = AdapterTensors.of(file, adapter.specs());
        List<String> notes = new ArrayList<>();
        // Each delta under the module name the adapter's other tensors (magnitudes, biases) use for it.
        Map<String, Delta> byAdapterModule = new LinkedHashMap<>();
        // the changes of LoRA on parameters, by the tensor they change
        Map<String, Change> paramWrappers = new LinkedHashMap<>();
        if (StackedParameterDeltas.applies(roles) && base.isPresent()) {
            StackedParameterDeltas.Result r = StackedParameterDeltas.read(file, config, tensors, roles, base.get());
            paramWrappers.putAll(r.changes());
            for (LoraPair p : r.plain()) {
                String module = legacy ? p.module() : roles.legacyModule(p.module());
                byAdapterModule.put(p.module(), new Delta(module, MatrixView.whole(p.a()),
                        MatrixView.whole(p.b()), scale(config, p.module(), p.rank()), false, Optional.empty()));
            }
        } else if (legacy) {
            for (LoraPair p : tensors.pairs().values()) {
                byAdapterModule.put(p.module(), new Delta(p.module(), MatrixView.whole(p.a()),
                        MatrixView.whole(p.b()), scale(config, p.module(), p.rank()), false, Optional.empty()));
            }
        } else {
            for (V5Reading.Module m : V5Reading.read(adapter, config, tensors, roles, base).modules()) {
                Delta d = new Delta(m.legacy(), m.a(), m.b(), m.scale(), false, Optional.empty());
                if (m.source() instanceof V5Reading.PlainModule plain) {
                    byAdapterModule.put(plain.module(), d);
                } else {
                    paramWrappers.put(m.legacy() + ".weight", d);
                }
            }
        }
        Map<String, TensorSpec> magnitudes = new LinkedHashMap<>();
        Map<String, TensorSpec> biases = new LinkedHashMap<>();
        Map<String, TensorSpec> embeddingA = new LinkedHashMap<>();
        Map<String, TensorSpec> embeddingB = new LinkedHashMap<>();
        Map<String, TensorSpec> replacements = new LinkedHashMap<>();
        for (TensorSpec s : tensors.others()) {
            String key = AdapterTensors.modelKey(s);
            if (key.endsWith(MAGNITUDE) || key.endsWith(MAGNITUDE + ".weight")) {
                magnitudes.put(key.substring(0, key.lastIndexOf(MAGNITUDE)), s);
            } else if (key.endsWith(BIAS)) {
                biases.put(key.substring(0, key.length() - BIAS.length()), s);
            } else if (key.endsWith(EMBEDDING_A)) {
                embeddingA.put(key.substring(0, key.length() - EMBEDDING_A.length()), s);
            } else if (key.endsWith(EMBEDDING_B)) {
                embeddingB.put(key.substring(0, key.length() - EMBEDDING_B.length()), s);
            } else if (key.contains(".lora_")) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, s.key(), "Fusebox merges LoRA and DoRA factors, "
                        + "LoRA biases and saved modules, not " + key.substring(key.indexOf(".lora_") + 1));
            } else {
                // PEFT saves a targeted embedding's own weight as <module>.base_layer.weight and loads it back in.
                String name = key.replace(".base_layer.", ".");
                replacements.put(legacy ? name : roles.renamed(name, false), s);
            }
        }
        for (Map.Entry<String, TensorSpec> e : embeddingA.entrySet()) {
            TensorSpec a = e.getValue();
            TensorSpec b = embeddingB.remove(e.getKey());
            if (b == null || a.shape().rank() != 2 || b.shape().rank() != 2 || a.shape().dim(0) != b.shape().dim(1)) {
                throw new FuseboxException(Problem.RAGGED_SHAPES, file, a.key(), "an embedding's LoRA is "
                        + "lora_embedding_A [r, vocabulary] with lora_embedding_B [dim, r], but B is "
                        + (b == null ? "missing" : b.shape() + " for A " + a.shape()));
            }
            if (loraBias) {
                throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "sets lora_bias, which PEFT refuses "
                        + "for the embedding " + e.getKey() + ": \"lora_bias=True is not supported for Embedding.\"");
            }
            String legacyName = legacy ? e.getKey() : roles.legacyModule(e.getKey());
            byAdapterModule.put(e.getKey(), new Delta(legacyName, MatrixView.whole(a), MatrixView.whole(b),
                    scale(config, e.getKey(), Math.toIntExact(a.shape().dim(0))), true, Optional.empty()));
        }
        if (!embeddingB.isEmpty()) {
            TensorSpec b = embeddingB.values().iterator().next();
            throw new FuseboxException(Problem.MISSING_TENSOR, file, b.key(), "its partner lora_embedding_A is "
                    + "missing; an embedding's LoRA needs both factors");
        }
        withMagnitudes(config, byAdapterModule, paramWrappers, magnitudes, file);
        if (loraBias && !paramWrappers.isEmpty()) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "sets lora_bias, and PEFT's ParamWrapper "
                    + "(which holds " + paramWrappers.keySet().iterator().next() + "'s LoRA) raises \"lora.ParamWrapper "
                    + "does not work with lora_bias=True.\"");
        }

        Map<String, Change> changes = new LinkedHashMap<>();
        Optional<String> readDirectly = Optional.ofNullable(READ_DIRECTLY_ON_V5.get(roles.modelType()));
        for (Delta d : byAdapterModule.values()) {
            if (readDirectly.isPresent() && d.module().endsWith(readDirectly.get())) {
                if (!legacy) {
                    notes.add(d.module() + "'s LoRA is left unmerged, as PEFT leaves it out: " + roles.modelType()
                            + " on transformers 5 reads " + d.module() + ".weight directly");
                    continue;
                }
                notes.add(d.module() + "'s LoRA is merged, as transformers 4 applied it to this legacy adapter; "
                        + "PEFT 0.21 on transformers 5 would leave it out (" + roles.modelType() + " reads "
                        + d.module() + ".weight directly there), so the merged model computes what the adapter did "
                        + "when it was made");
            }
            changes.put(d.module() + ".weight", d);
        }
        changes.putAll(paramWrappers);
        for (Map.Entry<String, TensorSpec> e : biases.entrySet()) {
            Delta d = byAdapterModule.get(e.getKey());
            if (d == null || !loraBias) {
                throw new FuseboxException(Problem.INVALID_ADAPTER, file, e.getValue().key(), d == null
                        ? "a lora_B bias belongs to a plain module's LoRA, and the adapter has none for " + e.getKey()
                        : "adapter_config.json does not set lora_bias, so PEFT would not load this bias");
            }
            if (e.getValue().shape().rank() != 1 || e.getValue().shape().dim(0) != d.out()
                    || !e.getValue().dtype().decodable()) {
                throw new FuseboxException(Problem.RAGGED_SHAPES, file, e.getValue().key(), "a lora_B bias is one "
                        + "float per output (" + d.out() + "), but it is " + e.getValue().dtype().name() + " "
                        + e.getValue().shape());
            }
            changes.put(d.module() + ".bias", new BiasShift(d.module(), e.getValue(), d.scale()));
        }
        for (Change c : changes.values()) {
            double scale = c.scale();
            if (!Double.isFinite(scale)) {
                throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives " + c.module() + " the LoRA "
                        + "scale " + scale + " (lora_alpha " + config.loraAlpha() + ", r " + config.r() + "), so "
                        + "merging would write " + (Double.isNaN(scale) ? "NaN" : "infinities") + " into every "
                        + "weight it changes");
            }
        }
        if (config.raw().path("fan_in_fan_out").asBoolean(false)) {
            if (!paramWrappers.isEmpty()) {
                throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "sets fan_in_fan_out, and PEFT's "
                        + "ParamWrapper (which holds " + paramWrappers.keySet().iterator().next() + "'s LoRA) raises "
                        + "\"lora.ParamWrapper does not work with fan_in_fan_out.\"");
            }
            notes.add("adapter_config.json sets fan_in_fan_out, which PEFT turns off for Linear modules (and "
                    + "embeddings ignore), so the adapter is merged as PEFT applies it: without transposing");
        }
        return new AdapterDeltas(changes, replacements, notes);
    }

    private static double scale(AdapterConfig config, String module, int factorRank) throws FuseboxException {
        int rank = PeftPatterns.rank(config, module);
        if (rank != factorRank) {
            throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), module, "adapter_config.json gives it "
                    + "rank " + rank + ", but its factors have rank " + factorRank);
        }
        return PeftPatterns.scale(config.useRslora(), rank, PeftPatterns.alpha(config, module));
    }

    /**
     * Gives each delta its DoRA magnitude: with use_dora every plain module and embedding has one (PEFT's
     * ParamWrapper refuses DoRA, so a parameter wrapper cannot), without it none does.
     */
    private static void withMagnitudes(AdapterConfig config, Map<String, Delta> deltas, Map<String, Change> wrappers,
                                       Map<String, TensorSpec> magnitudes, Path file) throws FuseboxException {
        if (!config.useDora()) {
            if (!magnitudes.isEmpty()) {
                TensorSpec m = magnitudes.values().iterator().next();
                throw new FuseboxException(Problem.INVALID_ADAPTER, file, m.key(), "it is a DoRA magnitude, but "
                        + "adapter_config.json does not set use_dora, so PEFT would not load it");
            }
            return;
        }
        if (!wrappers.isEmpty()) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "sets use_dora, and PEFT's ParamWrapper "
                    + "(which holds " + wrappers.keySet().iterator().next() + "'s LoRA) raises \"lora.ParamWrapper "
                    + "does not work with use_dora=True.\"; DoRA on fused experts has no form PEFT loads");
        }
        for (Map.Entry<String, Delta> e : deltas.entrySet()) {
            Delta d = e.getValue();
            TensorSpec m = magnitudes.remove(e.getKey());
            if (m == null) {
                throw new FuseboxException(Problem.MISSING_TENSOR, file, AdapterTensors.PREFIX + e.getKey() + MAGNITUDE,
                        "adapter_config.json sets use_dora, so every LoRA module has a DoRA magnitude, but this "
                                + "one is missing");
            }
            long length = d.b().rows();
            if (m.shape().rank() != 1 || m.shape().dim(0) != length || !m.dtype().decodable()) {
                throw new FuseboxException(Problem.RAGGED_SHAPES, file, m.key(), "a DoRA magnitude is one float per "
                        + (d.embedding() ? "embedding dimension" : "output row") + " (" + length + "), but it is "
                        + m.dtype().name() + " " + m.shape());
            }
            e.setValue(new Delta(d.module(), d.a(), d.b(), d.scale(), d.embedding(),
                    Optional.of(new MatrixView(m, 1, length, 0, length, 1))));
        }
        if (!magnitudes.isEmpty()) {
            Map.Entry<String, TensorSpec> m = magnitudes.entrySet().iterator().next();
            throw new FuseboxException(Problem.INVALID_ADAPTER, file, m.getValue().key(), "it is a DoRA magnitude, "
                    + "but the adapter has no LoRA factors for " + m.getKey());
        }
    }
}
