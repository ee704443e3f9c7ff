package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Limits;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.safetensors.SafetensorsFile;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.converter.tensor.TensorFile;
import dev.fusebox.converter.torchzip.TorchZipFile;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.fusebox.converter.checkpoint.Checkpoint.ADAPTER_CONFIG;
import static dev.fusebox.converter.checkpoint.Checkpoint.ADAPTER_WEIGHTS;
import static dev.fusebox.converter.checkpoint.Checkpoint.ADAPTER_WEIGHTS_BIN;
import static dev.fusebox.converter.checkpoint.Checkpoint.CONFIG;
import static dev.fusebox.converter.checkpoint.Checkpoint.MODEL_WEIGHTS_BIN;
import static dev.fusebox.converter.checkpoint.Checkpoint.MODEL_WEIGHTS_BIN_INDEX;
/**
 * Finds what a path names and opens it as a {@link Checkpoint}: the folder's kind, its configs, its index and its
 * tensor files, each checked; every file opened is closed again when a later check refuses the checkpoint.
 */
final class CheckpointOpener {

    private CheckpointOpener() {
    }

    static Checkpoint open(Path path, RuleBook rules, HfCache cache) throws FuseboxException {
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
            List<TensorFile> files = List.of(openTensorFile(location));
            return closedOnRefusal(files, () -> {
                Map<String, StoredTensor> tensors = collect(files);
                boolean adapter = name.equals(ADAPTER_WEIGHTS) || name.equals(ADAPTER_WEIGHTS_BIN)
                        || looksLikeAdapter(tensors.keySet());
                if (adapter) {
                    Optional<Path> acFile = folder.find(ADAPTER_CONFIG);
                    AdapterConfig ac = acFile.isPresent() ? AdapterConfig.read(acFile.get()) : null;
                    AdapterPairs.check(location, tensors);
                    return new Checkpoint(location, folder, CheckpointKind.ADAPTER, null, ac, null, files, tensors,
                            rules, cache, List.of());
                }
                return new Checkpoint(location, folder, CheckpointKind.MODEL, readConfigIfPresent(folder), null,
                        null, files, tensors, rules, cache, List.of());
            });
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
            Path weightsFile = weights.get();
            List<TensorFile> files = List.of(openTensorFile(weightsFile));
            return closedOnRefusal(files, () -> {
                Map<String, StoredTensor> tensors = collect(files);
                AdapterPairs.check(weightsFile, tensors);
                return new Checkpoint(dir, folder, CheckpointKind.ADAPTER, null, ac, null, files, tensors, rules,
                        cache, companionsIn(folder));
            });
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
        return closedOnRefusal(files, () -> new Checkpoint(dir, folder, CheckpointKind.MODEL, config, null, null,
                files, collect(files), rules, cache, companionsIn(folder)));
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
        return closedOnRefusal(files, () -> indexed(location, folder, indexFile, config, index, shardOf, files, rules,
                cache));
    }

    /** The checkpoint an index and its opened shards make, once every tensor is where the index says. */
    // A tensor is where the index says when it was read from the very file opened for that shard: identity.
    @SuppressWarnings("ReferenceEquality")
    private static Checkpoint indexed(Path location, CheckpointFolder folder, Path indexFile, ModelConfig config,
                                      ShardIndex index, Map<String, Integer> shardOf, List<TensorFile> files,
                                      RuleBook rules, HfCache cache) throws FuseboxException {
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

    /** What {@code build} makes of opened {@code files}; when it refuses the checkpoint, the files are closed. */
    private static Checkpoint closedOnRefusal(List<TensorFile> files, Build build) throws FuseboxException {
        try {
            return build.checkpoint();
        } catch (FuseboxException | RuntimeException e) {
            files.forEach(TensorFile::close);
            throw e;
        }
    }

    @FunctionalInterface
    private interface Build {
        Checkpoint checkpoint() throws FuseboxException;
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
}
