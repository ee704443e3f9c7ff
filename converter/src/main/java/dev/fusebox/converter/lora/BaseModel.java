package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.rules.RuleSet;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What an adapter conversion learns from the base model (read from headers and config.json only): its config, its
 * model type, and the tensors it has in the v5 layout (its own, or those its conversion would write), which tell
 * the experts' shapes and which layers have experts at all.
 */
public record BaseModel(Path location, Optional<ModelConfig> config, String modelType,
                        Map<String, TensorSpec> v5Tensors, Set<String> legacyKeys) {

    public BaseModel {
        v5Tensors = Collections.unmodifiableMap(new LinkedHashMap<>(v5Tensors));
        legacyKeys = Set.copyOf(legacyKeys);
    }

    /** Reads the base model at {@code path}. */
    public static BaseModel open(Path path, RuleBook book) throws FuseboxException {
        try (Checkpoint base = Checkpoint.open(path, book)) {
            if (base.kind() == CheckpointKind.ADAPTER) {
                throw new FuseboxException(Problem.UNSUPPORTED, path, "is an adapter; the base must be a model");
            }
            Map<String, TensorSpec> v5 = new LinkedHashMap<>();
            boolean legacy = base.layout() == Layout.LEGACY;
            Iterable<TensorSpec> specs = legacy ? Planner.plan(base, book, Optional.of(Layout.V5)).targetSpecs()
                    : base.specs();
            for (TensorSpec s : specs) {
                v5.put(s.key(), s);
            }
            Set<String> legacyKeys = new HashSet<>();
            boolean bornFused = book.forModelType(base.modelType()).map(RuleSet::bornFused).orElse(false);
            if (legacy || bornFused) {
                legacyKeys.addAll(base.tensors().keySet());
            } else if (base.layout() == Layout.V5) {
                Planner.plan(base, book, Optional.of(Layout.LEGACY)).targetSpecs().forEach(t -> legacyKeys.add(t.key()));
            }
            return new BaseModel(base.location(), base.modelConfig(), base.modelType(), v5, legacyKeys);
        }
    }

    /**
     * Refuses a legacy adapter's LoRA for a weight the base does not have (a layer or expert past the base's), as a
     * merge does: converted, it would name a module PEFT cannot find. A base whose layout is unknown says nothing.
     */
    void checkHas(Path adapterFile, Iterable<LoraPair> pairs) throws FuseboxException {
        if (legacyKeys.isEmpty()) {
            return;
        }
        for (LoraPair p : pairs) {
            if (!legacyKeys.contains(p.module() + ".weight")) {
                throw new FuseboxException(Problem.SHAPE_MISMATCH, adapterFile, p.a().key(), "is a LoRA for its "
                        + "module's weight, which the base model " + location + " does not have (a layer or expert "
                        + "past the base's, or another model's module)");
            }
        }
    }

    public Optional<TensorSpec> v5Tensor(String key) {
        return Optional.ofNullable(v5Tensors.get(key));
    }
}
