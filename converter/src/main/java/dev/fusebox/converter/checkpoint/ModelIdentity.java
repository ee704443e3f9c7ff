package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.rules.RuleSet;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.fusebox.converter.checkpoint.Checkpoint.CONFIG;

/**
 * What a checkpoint is a checkpoint of, told once when it is opened: its model's config (its own, or an adapter's
 * local base model's), the model type, the family's rules and the layout. A base model's config.json that cannot
 * be read refuses the adapter, rather than leaving it without a family.
 *
 * @param baseModelDirectory for an adapter, the local folder of the base model its config names
 * @param modelType config.json's {@code model_type}, else a guess from the keys ("unknown" when there is none)
 * @param ruleSet the rules for the model type, or the best fit to the keys when no config names a type
 */
record ModelIdentity(Optional<Path> baseModelDirectory, Optional<ModelConfig> modelConfig, String modelType,
                     Optional<RuleSet> ruleSet, Layout layout) {

    static ModelIdentity of(Path directory, ModelConfig own, AdapterConfig adapterConfig,
                            Map<String, StoredTensor> tensors, RuleBook rules, HfCache cache)
            throws FuseboxException {
        Optional<Path> base = baseModelDirectory(directory, adapterConfig, cache);
        Optional<ModelConfig> config = Optional.ofNullable(own);
        if (config.isEmpty() && base.isPresent()) {
            Optional<Path> file = CheckpointFolder.of(base.get()).find(CONFIG);
            if (file.isPresent()) {
                config = Optional.of(ModelConfig.read(file.get()));
            }
        }
        Optional<String> declared = config.flatMap(ModelConfig::modelType);
        // Guessing from the keys reads every key against every rule: only when neither a config nor the keys'
        // names tell the type.
        String modelType = declared.or(() -> ModelTypeGuess.fromKeys(tensors.keySet()))
                .or(() -> rules.guess(tensors.keySet()).map(r -> r.modelTypes().getFirst()))
                .orElse("unknown");
        Optional<RuleSet> byType = rules.forModelType(modelType);
        Optional<RuleSet> ruleSet = byType.isPresent() || declared.isPresent() ? byType : rules.guess(tensors.keySet());
        List<TensorSpec> specs = tensors.values().stream().map(StoredTensor::spec).toList();
        Optional<ModelConfig> known = config;
        Layout layout = ruleSet.map(r -> LayoutDetector.detect(specs, known.map(ModelConfig::raw), r))
                .orElseGet(() -> LayoutDetector.detect(tensors.keySet()));
        return new ModelIdentity(base, config, modelType, ruleSet, layout);
    }

    /**
     * For an adapter, the base model directory its config's {@code base_model_name_or_path} names, when that holds
     * a config.json: an absolute path as PEFT wrote it, else a folder of that name beside the adapter, else the model
     * of that id in the Hugging Face cache — never a path relative to the working directory, which an adapter's
     * author cannot know ({@code --base} names any other).
     */
    private static Optional<Path> baseModelDirectory(Path directory, AdapterConfig adapterConfig, HfCache cache) {
        if (adapterConfig == null || adapterConfig.baseModelNameOrPath().isEmpty()) {
            return Optional.empty();
        }
        String name = adapterConfig.baseModelNameOrPath().get();
        List<Path> candidates = new ArrayList<>();
        try {
            Path given = Path.of(name);
            if (given.isAbsolute()) {
                candidates.add(given);
            } else if (directory.getParent() != null && !name.isEmpty()
                    && !List.of(name.split("[/\\\\]")).contains("..")) {
                candidates.add(directory.getParent().resolve(given));
            }
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
        cache.snapshotOf(name).ifPresent(candidates::add);
        return candidates.stream().map(Path::normalize)
                .filter(p -> !p.equals(directory) && Files.isRegularFile(p.resolve(CONFIG)))
                .findFirst();
    }
}
