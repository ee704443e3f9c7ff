package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.rules.RuleSet;
import dev.fusebox.converter.tensor.TensorFile;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A checkpoint as the user named it: a model directory (config.json and one or more safetensors files, sharded
 * through {@code model.safetensors.index.json} or not, or torch.save files: a single pytorch_model.bin or shards
 * through {@code pytorch_model.bin.index.json}), a PEFT adapter directory
 * (adapter_config.json and adapter_model.safetensors or adapter_model.bin), a single {@code .safetensors} or
 * torch.save file, or an index file. Opening reads headers, configs and pickles only; an adapter's lora_A and
 * lora_B tensors must pair up.
 */
public final class Checkpoint implements AutoCloseable {

    public static final String CONFIG = "config.json";
    public static final String ADAPTER_CONFIG = "adapter_config.json";
    public static final String ADAPTER_WEIGHTS = "adapter_model.safetensors";
    /** The PyTorch form of an adapter's weights, read when no safetensors file is beside it. */
    public static final String ADAPTER_WEIGHTS_BIN = "adapter_model.bin";
    /** The PyTorch form of a model's weights, read when the directory holds no safetensors file. */
    public static final String MODEL_WEIGHTS_BIN = "pytorch_model.bin";
    /** The index of a model's weights sharded as torch.save files ({@code pytorch_model-00001-of-00002.bin}, …). */
    public static final String MODEL_WEIGHTS_BIN_INDEX = "pytorch_model.bin.index.json";
    public static final String SINGLE_WEIGHTS = "model.safetensors";

    private final Path location;
    private final Path directory;
    private final CheckpointKind kind;
    private final ModelConfig config;
    private final AdapterConfig adapterConfig;
    private final ShardIndex index;
    private final List<TensorFile> files;
    private final Map<String, StoredTensor> tensors;
    private final RuleBook rules;
    private final Optional<CachedModel> cached;
    private final List<Path> companions;
    private final ModelIdentity identity;

    Checkpoint(Path location, CheckpointFolder folder, CheckpointKind kind, ModelConfig config,
               AdapterConfig adapterConfig, ShardIndex index, List<TensorFile> files,
               Map<String, StoredTensor> tensors, RuleBook rules, HfCache cache, List<Path> companions)
            throws FuseboxException {
        this.location = location;
        this.directory = folder.path();
        this.cached = folder.cachedModel();
        this.companions = List.copyOf(companions);
        this.kind = kind;
        this.config = config;
        this.adapterConfig = adapterConfig;
        this.index = index;
        this.files = List.copyOf(files);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.rules = rules;
        this.identity = ModelIdentity.of(directory, config, adapterConfig, this.tensors, rules, cache);
    }

    /** Opens whatever {@code path} names, reading headers and configs only; families are told by the bundled rules. */
    public static Checkpoint open(Path path) throws FuseboxException {
        return open(path, RuleBook.bundled());
    }

    /**
     * Opens whatever {@code path} names, telling its family and layout with {@code rules}; a Hugging Face cache repo
     * folder or model id ({@code ORG/NAME[@REV]}) is looked up in the cache the environment names.
     */
    public static Checkpoint open(Path path, RuleBook rules) throws FuseboxException {
        return open(path, rules, HfCache.fromEnvironment());
    }

    /**
     * Opens whatever {@code path} names: a checkpoint, or the snapshot a repo folder {@code models--ORG--NAME} or a
     * model id {@code ORG/NAME[@REV]} (when no such local path exists) stands for in {@code cache}. Every file is read
     * under {@link CheckpointFolder}'s rule for links.
     */
    public static Checkpoint open(Path path, RuleBook rules, HfCache cache) throws FuseboxException {
        return CheckpointOpener.open(path, rules, cache);
    }

    public Path location() {
        return location;
    }

    /** The directory the checkpoint lives in. */
    public Path directory() {
        return directory;
    }

    /** A short name for titles: the directory or file name; for a cache snapshot {@code ORG/NAME@0123abc}. */
    public String displayName() {
        String name = location.getFileName() == null ? location.toString() : location.getFileName().toString();
        return cached.map(m -> location.equals(directory) ? m.shortName() : m.shortName() + "/" + name).orElse(name);
    }

    /** The model in the Hugging Face cache whose snapshot this checkpoint is. */
    public Optional<CachedModel> cachedModel() {
        return cached;
    }

    public CheckpointKind kind() {
        return kind;
    }

    public Optional<ModelConfig> config() {
        return Optional.ofNullable(config);
    }

    public Optional<AdapterConfig> adapterConfig() {
        return Optional.ofNullable(adapterConfig);
    }

    public Optional<ShardIndex> index() {
        return Optional.ofNullable(index);
    }

    public List<TensorFile> files() {
        return files;
    }

    /** Every tensor, by key, in file order then data order. */
    public Map<String, StoredTensor> tensors() {
        return tensors;
    }

    public Optional<StoredTensor> tensor(String key) {
        return Optional.ofNullable(tensors.get(key));
    }

    public List<TensorSpec> specs() {
        return tensors.values().stream().map(StoredTensor::spec).toList();
    }

    /** The layout: what the family's rules see in the keys (and shapes), else what the key heuristics see. */
    public Layout layout() {
        return identity.layout();
    }

    /**
     * The model type: config.json's {@code model_type}, else the base model's for an adapter whose base is a
     * local directory, else a guess from the keys ("unknown" when there is none).
     */
    public String modelType() {
        return identity.modelType();
    }

    /** The conversion rules for this checkpoint's model type, or the best fit to its keys when it has no config. */
    public Optional<RuleSet> ruleSet() {
        return identity.ruleSet();
    }

    /** The rules this checkpoint was opened with. */
    public RuleBook ruleBook() {
        return rules;
    }

    /** The model's config: config.json for a model, the base model's (when it is a local directory) for an adapter. */
    public Optional<ModelConfig> modelConfig() {
        return identity.modelConfig();
    }

    /**
     * For an adapter, the base model directory its config's {@code base_model_name_or_path} names, when that holds
     * a config.json: an absolute path as PEFT wrote it, else a folder of that name beside the adapter, else the model
     * of that id in the Hugging Face cache — never a path relative to the working directory, which an adapter's
     * author cannot know ({@code --base} names any other).
     */
    public Optional<Path> baseModelDirectory() {
        return identity.baseModelDirectory();
    }

    /**
     * Files a conversion carries over unchanged (copied as files, whatever links they are read through): everything
     * in the folder but the weights, the index, the adapter config, hidden files and subfolders. Empty for a lone
     * safetensors file.
     */
    public List<Path> companionFiles() {
        return companions;
    }

    /** Total bytes of tensor data. */
    public long tensorBytes() {
        long n = 0;
        for (StoredTensor t : tensors.values()) {
            n = Math.addExact(n, t.byteSize());
        }
        return n;
    }

    @Override
    public void close() {
        for (TensorFile f : files) {
            f.close();
        }
    }

    @Override
    public String toString() {
        return location.toString();
    }
}
