package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.safetensors.TensorSpec;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What an adapter conversion learns from the base model (read from headers and config.json only): its config, its
 * model type, and the tensors it has in the v5 layout (its own, or those its conversion would write), which tell
 * the experts' shapes and which layers have experts at all.
 */
public record BaseModel(Path location, Optional<ModelConfig> config, String modelType,
                        Map<String, TensorSpec> v5Tensors) {

    public BaseModel {
        v5Tensors = Collections.unmodifiableMap(new LinkedHashMap<>(v5Tensors));
    }

    /** Reads the base model at {@code path}. */
    public static BaseModel open(Path path, RuleBook book) throws FuseboxException {
        try (Checkpoint base = Checkpoint.open(path, book)) {
            if (base.kind() == CheckpointKind.ADAPTER) {
                throw new FuseboxException(Problem.UNSUPPORTED, path, "is an adapter; the base must be a model");
            }
            Map<String, TensorSpec> v5 = new LinkedHashMap<>();
            Iterable<TensorSpec> specs = base.layout() == Layout.LEGACY
                    ? Planner.plan(base, book, Optional.of(Layout.V5)).targetSpecs() : base.specs();
            for (TensorSpec s : specs) {
                v5.put(s.key(), s);
            }
            return new BaseModel(base.location(), base.modelConfig(), base.modelType(), v5);
        }
    }

    public Optional<TensorSpec> v5Tensor(String key) {
        return Optional.ofNullable(v5Tensors.get(key));
    }
}
