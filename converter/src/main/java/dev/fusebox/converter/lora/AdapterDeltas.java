package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.safetensors.TensorSpec;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What an adapter, legacy or v5, does to the base model's weights, in legacy names: for each weight
 * {@code module.weight} it changes, {@code ΔW = scale · B @ A} with views of the adapter's factors (a v5 wrapper's
 * factors cut per expert and branch as {@link V5Reading} does), and the full weights it replaces
 * ({@code modules_to_save}).
 */
record AdapterDeltas(Map<String, Delta> deltas, Map<String, TensorSpec> replacements) {

    /** The change to one weight [out, in]: {@code scale · B @ A}, B [out, r] and A [r, in]. */
    record Delta(String module, MatrixView a, MatrixView b, double scale) {

        long out() {
            return b.rows();
        }

        long in() {
            return a.cols();
        }

        int rank() {
            return Math.toIntExact(a.rows());
        }
    }

    AdapterDeltas {
        deltas = Collections.unmodifiableMap(new LinkedHashMap<>(deltas));
        replacements = Collections.unmodifiableMap(new LinkedHashMap<>(replacements));
    }

    static AdapterDeltas of(Checkpoint adapter, Optional<BaseModel> base, LoraRoles roles, boolean legacy)
            throws FuseboxException {
        Path file = adapter.location();
        AdapterConfig config = AdapterPlanner.config(adapter);
        if (config.useDora() || config.raw().path("lora_bias").asBoolean(false)
                || config.raw().path("fan_in_fan_out").asBoolean(false)) {
            throw new FuseboxException(Problem.UNSUPPORTED, config.file(), "cannot be merged: Fusebox merges plain "
                    + "LoRA (W + scale·B@A), not DoRA, LoRA biases or fan_in_fan_out weights");
        }
        AdapterTensors tensors = AdapterTensors.of(file, adapter.specs());
        Map<String, Delta> deltas = new LinkedHashMap<>();
        if (legacy) {
            for (LoraPair p : tensors.pairs().values()) {
                int rank = PeftPatterns.rank(config, p.module());
                if (rank != p.rank()) {
                    throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), p.module(), "adapter_config.json "
                            + "gives it rank " + rank + ", but its factors have rank " + p.rank());
                }
                double scale = PeftPatterns.scale(config.useRslora(), rank, PeftPatterns.alpha(config, p.module()));
                deltas.put(p.module() + ".weight", new Delta(p.module(), MatrixView.whole(p.a()),
                        MatrixView.whole(p.b()), scale));
            }
        } else {
            for (V5Reading.Module m : V5Reading.read(adapter, config, tensors, roles, base).modules()) {
                deltas.put(m.legacy() + ".weight", new Delta(m.legacy(), m.a(), m.b(), m.scale()));
            }
        }
        for (Delta d : deltas.values()) {
            if (!Double.isFinite(d.scale())) {
                throw new FuseboxException(Problem.INVALID_CONFIG, config.file(), "gives " + d.module() + " the LoRA "
                        + "scale " + d.scale() + " (lora_alpha " + config.loraAlpha() + ", r " + config.r() + "), so "
                        + "merging would write " + (Double.isNaN(d.scale()) ? "NaN" : "infinities") + " into every "
                        + "weight it changes");
            }
        }
        Map<String, TensorSpec> replacements = new LinkedHashMap<>();
        for (TensorSpec s : tensors.others()) {
            String key = AdapterTensors.modelKey(s);
            if (key.contains(".lora_")) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, s.key(), "Fusebox merges LoRA factors and "
                        + "saved modules, not " + key.substring(key.indexOf(".lora_") + 1));
            }
            replacements.put(legacy ? key : roles.renamed(key, false), s);
        }
        return new AdapterDeltas(deltas, replacements);
    }
}
