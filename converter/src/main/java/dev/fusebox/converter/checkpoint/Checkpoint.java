package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Limits;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.rules.RuleSet;
import dev.fusebox.converter.safetensors.SafetensorsFile;
import dev.fusebox.converter.tensor.TensorFile;
import dev.fusebox.converter.torchzip.TorchZipFile;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.converter.tensor.TensorSpec;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
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
    private final HfCache cache;
    private final Optional<CachedModel> cached;
    private final List<Path> companions;
    private volatile Layout layout;
    private volatile Optional<Path> baseModelDirectory;

    private Checkpoint(Path location, CheckpointFolder folder, CheckpointKind kind, ModelConfig config,
                       AdapterConfig adapterConfig, ShardIndex index, List<TensorFile> files,
                       Map<String, StoredTensor> tensors, RuleBook rules, HfCache cache, List<Path> companions) {
        this.location = location;
        this.directory = folder.path();
        this.cached = folder.cachedModel();
        this.cache = cache;
        this.companions = List.copyOf(companions);
        this.kind = kind;
        this.config = config;
        this.adapterConfig = adapterConfig;
        this.index = index;
        this.files = List.copyOf(files);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.rules = rules;
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
        Path location = cache.snapshotFor(path).orElse(path).toAbsolutePath().normalize();
        if (!Files.exists(location, LinkOption.NOFOLLOW_LINKS)) {
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, path, "does not exist");
        }
        if (Files.isDirectory(location)) {
            return openDirectory(location, CheckpointFolder.of(location), rules, cache);
        }
        CheckpointFolder folder = CheckpointFolder.of(location.getParent());
        folder.readable(location);
        String name = location.getFileName().toString();
        if (name.endsWith(".index.json")) {
            return openIndexed(location, folder, location, readConfigIfPresent(folder), rules, cache);
        }
        if (name.endsWith(".safetensors") || TorchZipFile.isTorchFileName(location)) {
            List<TensorFile> files = new ArrayList<>();
            files.add(openTensorFile(location));
            Map<String, StoredTensor> tensors = collect(files);
            boolean adapter = name.equals(ADAPTER_WEIGHTS) || name.equals(ADAPTER_WEIGHTS_BIN)
                    || looksLikeAdapter(tensors.keySet());
            if (adapter) {
                Optional<Path> acFile = folder.find(ADAPTER_CONFIG);
                AdapterConfig ac = acFile.isPresent() ? AdapterConfig.read(acFile.get()) : null;
                AdapterPairs.check(location, tensors);
                return new Checkpoint(location, folder, CheckpointKind.ADAPTER, null, ac, null, files, tensors, rules,
                        cache, List.of());
            }
            return new Checkpoint(location, folder, CheckpointKind.MODEL, readConfigIfPresent(folder), null, null,
                    files, tensors, rules, cache, List.of());
        }
        throw new FuseboxException(Problem.NOT_A_CHECKPOINT, path,
                "is neither a checkpoint directory, a .safetensors or PyTorch .bin file, nor a "
                        + "model.safetensors.index.json");
    }

    private static Checkpoint openDirectory(Path dir, CheckpointFolder folder, RuleBook rules, HfCache cache)
            throws FuseboxException {
        Optional<Path> adapterConfig = folder.find(ADAPTER_CONFIG);
        if (adapterConfig.isPresent()) {
            AdapterConfig ac = AdapterConfig.read(adapterConfig.get());
            Optional<Path> weights = folder.find(ADAPTER_WEIGHTS);
            if (weights.isEmpty()) {
                weights = folder.find(ADAPTER_WEIGHTS_BIN);
            }
            if (weights.isEmpty()) {
                throw new FuseboxException(Problem.NOT_A_CHECKPOINT, dir,
                        "has adapter_config.json but no " + ADAPTER_WEIGHTS + " or " + ADAPTER_WEIGHTS_BIN);
            }
            List<TensorFile> files = List.of(openTensorFile(weights.get()));
            Map<String, StoredTensor> tensors = collect(files);
            AdapterPairs.check(weights.get(), tensors);
            return new Checkpoint(dir, folder, CheckpointKind.ADAPTER, null, ac, null, files, tensors, rules, cache,
                    companionsIn(folder));
        }
        ModelConfig config = readConfigIfPresent(folder);
        Optional<Path> indexFile = folder.find(ShardIndex.FILE_NAME);
        if (indexFile.isPresent()) {
            return openIndexed(dir, folder, indexFile.get(), config, rules, cache);
        }
        List<Path> shards = safetensorsIn(folder);
        Optional<Path> binIndex = shards.isEmpty() ? folder.find(MODEL_WEIGHTS_BIN_INDEX) : Optional.empty();
        if (binIndex.isPresent()) {
            return openIndexed(dir, folder, binIndex.get(), config, rules, cache);
        }
        if (shards.isEmpty()) {
            shards = folder.find(MODEL_WEIGHTS_BIN).map(List::of).orElse(List.of());
        }
        if (shards.isEmpty()) {
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, dir,
                    "holds no .safetensors file and no " + ADAPTER_CONFIG);
        }
        List<TensorFile> files = openAll(shards);
        return new Checkpoint(dir, folder, CheckpointKind.MODEL, config, null, null, files, collect(files), rules,
                cache, companionsIn(folder));
    }

    private static Checkpoint openIndexed(Path location, CheckpointFolder folder, Path indexFile, ModelConfig config,
                                          RuleBook rules, HfCache cache) throws FuseboxException {
        ShardIndex index = ShardIndex.read(indexFile);
        // Names that lead to one file ("x" and "./x") are one shard, opened once.
        List<Path> shardPaths = new ArrayList<>();
        Map<Path, Integer> positions = new java.util.HashMap<>();
        Map<String, Integer> shardOf = new java.util.HashMap<>();
        for (String shard : index.shardNames()) {
            Path p = folder.readable(ShardIndex.resolveShard(indexFile, folder.path(), shard));
            Integer at = positions.putIfAbsent(p, shardPaths.size());
            if (at == null) {
                at = shardPaths.size();
                shardPaths.add(p);
            }
            shardOf.put(shard, at);
        }
        List<TensorFile> files = openAll(shardPaths);
        Map<String, TensorFile> byShardName = new java.util.HashMap<>();
        for (String shard : index.shardNames()) {
            byShardName.put(shard, files.get(shardOf.get(shard)));
        }
        Map<String, StoredTensor> tensors = collect(files);
        for (Map.Entry<String, String> e : index.weightMap().entrySet()) {
            StoredTensor t = tensors.get(e.getKey());
            if (t == null || t.file() != byShardName.get(e.getValue())) {
                throw new FuseboxException(Problem.INDEX_MISMATCH, indexFile, e.getKey(),
                        "the index places it in '" + e.getValue() + "', but that shard does not hold it");
            }
        }
        if (tensors.size() != index.weightMap().size()) {
            for (StoredTensor t : tensors.values()) {
                if (!index.weightMap().containsKey(t.key())) {
                    throw new FuseboxException(Problem.INDEX_MISMATCH, indexFile, t.key(),
                            "shard '" + t.file().path().getFileName() + "' holds it, but the index does not list it");
                }
            }
        }
        return new Checkpoint(location, folder, CheckpointKind.MODEL, config, null, index, files, tensors, rules,
                cache, companionsIn(folder));
    }

    private static Map<String, StoredTensor> collect(List<TensorFile> files) throws FuseboxException {
        int count = files.stream().mapToInt(f -> f.tensors().size()).sum();
        Map<String, StoredTensor> tensors = LinkedHashMap.newLinkedHashMap(count);
        for (TensorFile f : files) {
            for (TensorEntry e : f.tensors()) {
                StoredTensor previous = tensors.putIfAbsent(e.key(), new StoredTensor(f, e));
                if (previous != null) {
                    throw new FuseboxException(Problem.DUPLICATE_KEY, f.path(), e.key(),
                            "it is also in " + previous.file().path().getFileName());
                }
            }
        }
        return tensors;
    }

    /**
     * Opens shards on all cores (parsing headers is most of opening a large checkpoint), then checks them in order:
     * the first shard that fails, in the given order, is the one reported, whatever finished first.
     */
    private static List<TensorFile> openAll(List<Path> paths) throws FuseboxException {
        Object[] opened = new Object[paths.size()];
        java.util.stream.IntStream.range(0, paths.size()).parallel().forEach(i -> {
            try {
                opened[i] = openTensorFile(paths.get(i));
            } catch (FuseboxException e) {
                opened[i] = e;
            }
        });
        List<TensorFile> files = new ArrayList<>();
        try {
            for (Object o : opened) {
                if (o instanceof FuseboxException e) {
                    throw e;
                }
                addWithinLimit(files, (TensorFile) o);
            }
        } catch (FuseboxException e) {
            for (Object o : opened) {
                if (o instanceof TensorFile f) {
                    f.close();
                }
            }
            throw e;
        }
        return files;
    }

    /** Adds an opened file, refusing a checkpoint whose shards hold more tensors than {@link Limits} allows. */
    private static void addWithinLimit(List<TensorFile> files, TensorFile file) throws FuseboxException {
        long total = file.tensors().size();
        for (TensorFile f : files) {
            total += f.tensors().size();
        }
        if (total > Limits.MAX_TENSORS) {
            throw new FuseboxException(Problem.TOO_MANY_TENSORS, file.path(), "brings the checkpoint to " + total
                    + " tensors, more than the " + Limits.MAX_TENSORS + " Fusebox opens");
        }
        files.add(file);
    }

    /** A safetensors file, or a torch.save file (.bin, .pt, .pth) read through the restricted unpickler. */
    private static TensorFile openTensorFile(Path file) throws FuseboxException {
        return TorchZipFile.isTorchFileName(file) ? TorchZipFile.open(file) : SafetensorsFile.open(file);
    }

    private static ModelConfig readConfigIfPresent(CheckpointFolder folder) throws FuseboxException {
        Optional<Path> config = folder.find(CONFIG);
        return config.isPresent() ? ModelConfig.read(config.get()) : null;
    }

    /** Every {@code *.safetensors} entry of the folder, each checked: one that is not a readable file is refused. */
    private static List<Path> safetensorsIn(CheckpointFolder folder) throws FuseboxException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(folder.path(), "*.safetensors")) {
            for (Path p : s) {
                out.add(p);
            }
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, folder.path(), "could not be listed (" + IoReason.of(e) + ")",
                    e);
        }
        out.sort(null);
        for (Path p : out) {
            folder.readable(p);
        }
        return out;
    }

    /**
     * Files a conversion carries over unchanged: everything in the folder but the weights, the index, the adapter
     * config (which conversion rewrites), hidden files and subfolders; each checked by the link rule, so a tokenizer
     * that links into the cache's blobs is carried, and one that links elsewhere refuses the checkpoint.
     */
    private static List<Path> companionsIn(CheckpointFolder folder) throws FuseboxException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(folder.path())) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                boolean weights = n.endsWith(".safetensors") || n.equals(ShardIndex.FILE_NAME)
                        || n.equals(ADAPTER_CONFIG) || n.equals(ADAPTER_WEIGHTS_BIN)
                        || n.equals(MODEL_WEIGHTS_BIN_INDEX) || (n.startsWith("pytorch_model") && n.endsWith(".bin"))
                        || n.startsWith(".");
                if (!weights && !Files.isDirectory(p)) {
                    out.add(p);
                }
            }
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, folder.path(), "could not be listed (" + IoReason.of(e) + ")",
                    e);
        }
        out.sort(null);
        for (Path p : out) {
            folder.readable(p);
        }
        return out;
    }

    private static boolean looksLikeAdapter(java.util.Collection<String> keys) {
        return !keys.isEmpty() && keys.stream().allMatch(k -> k.contains("lora_") || k.startsWith("base_model.model."));
    }

    /** What the user named, made absolute. */
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
        Layout l = layout;
        if (l == null) {
            l = ruleSet().map(r -> LayoutDetector.detect(specs(), modelConfig().map(ModelConfig::raw), r))
                    .orElseGet(() -> LayoutDetector.detect(tensors.keySet()));
            layout = l;
        }
        return l;
    }

    /**
     * The model type: config.json's {@code model_type}, else the base model's for an adapter whose base is a
     * local directory, else a guess from the keys ("unknown" when there is none).
     */
    public String modelType() {
        return modelConfig().flatMap(ModelConfig::modelType)
                .or(() -> ModelTypeGuess.fromKeys(tensors.keySet()))
                .or(() -> rules.guess(tensors.keySet()).map(r -> r.modelTypes().getFirst()))
                .orElse("unknown");
    }

    /** The conversion rules for this checkpoint's model type, or the best fit to its keys when it has no config. */
    public Optional<RuleSet> ruleSet() {
        Optional<RuleSet> byType = rules.forModelType(modelType());
        if (byType.isPresent() || modelConfig().flatMap(ModelConfig::modelType).isPresent()) {
            return byType;
        }
        return rules.guess(tensors.keySet());
    }

    /** The rules this checkpoint was opened with. */
    public RuleBook ruleBook() {
        return rules;
    }

    /** The model's config: config.json for a model, the base model's (when it is a local directory) for an adapter. */
    public Optional<ModelConfig> modelConfig() {
        if (config != null) {
            return Optional.of(config);
        }
        return baseModelDirectory().flatMap(d -> {
            try {
                return CheckpointFolder.of(d).find(CONFIG).map(f -> {
                    try {
                        return ModelConfig.read(f);
                    } catch (FuseboxException e) {
                        return null;
                    }
                });
            } catch (FuseboxException e) {
                return Optional.empty();
            }
        });
    }

    /**
     * For an adapter, the base model directory its config's {@code base_model_name_or_path} names, when that holds
     * a config.json: an absolute path as PEFT wrote it, else a folder of that name beside the adapter, else the model
     * of that id in the Hugging Face cache — never a path relative to the working directory, which an adapter's
     * author cannot know ({@code --base} names any other).
     */
    public Optional<Path> baseModelDirectory() {
        Optional<Path> known = baseModelDirectory;
        if (known == null) {
            known = findBaseModelDirectory();
            baseModelDirectory = known;
        }
        return known;
    }

    private Optional<Path> findBaseModelDirectory() {
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
        } catch (java.nio.file.InvalidPathException e) {
            return Optional.empty();
        }
        cache.snapshotOf(name).ifPresent(candidates::add);
        return candidates.stream().map(Path::normalize)
                .filter(p -> !p.equals(directory) && Files.isRegularFile(p.resolve(CONFIG)))
                .findFirst();
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
