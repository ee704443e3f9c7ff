package dev.fusebox.converter.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;

/**
 * {@code model.safetensors.index.json}: which shard holds which tensor. Every shard name is checked to stay
 * inside the checkpoint directory — no absolute paths, no {@code ..}, no symbolic link that leads out — and to
 * exist, before any shard is opened.
 */
public record ShardIndex(Path file, Map<String, String> weightMap, SequencedSet<String> shardNames) {

    public static final String FILE_NAME = "model.safetensors.index.json";

    public ShardIndex {
        weightMap = Collections.unmodifiableMap(new LinkedHashMap<>(weightMap));
        shardNames = Collections.unmodifiableSequencedSet(new LinkedHashSet<>(shardNames));
    }

    /** Reads and checks an index; shard paths are resolved against the index's directory. */
    public static ShardIndex read(Path file) throws FuseboxException {
        ObjectNode root = JsonFiles.readObject(file, Problem.INVALID_INDEX);
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new FuseboxException(Problem.INVALID_INDEX, file, "has no weight_map object");
        }
        Map<String, String> weights = new LinkedHashMap<>();
        SequencedSet<String> shards = new LinkedHashSet<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            if (!e.getValue().isTextual()) {
                throw new FuseboxException(Problem.INVALID_INDEX, file, e.getKey(),
                        "its weight_map entry is " + e.getValue() + ", expected a shard file name");
            }
            String shard = e.getValue().textValue();
            weights.put(e.getKey(), shard);
            shards.add(shard);
        }
        Path dir = file.toAbsolutePath().getParent();
        for (String shard : shards) {
            resolveShard(file, dir, shard);
        }
        return new ShardIndex(file, weights, shards);
    }

    /** The path of a shard, checked to lie inside {@code dir} (also after following links) and to exist. */
    public static Path resolveShard(Path index, Path dir, String shard) throws FuseboxException {
        if (shard.isEmpty() || shard.indexOf('\0') >= 0) {
            throw new FuseboxException(Problem.INVALID_INDEX, index, "names an empty or invalid shard file name");
        }
        Path given;
        try {
            given = dir.getFileSystem().getPath(shard);
        } catch (java.nio.file.InvalidPathException e) {
            throw new FuseboxException(Problem.INVALID_INDEX, index, "names the invalid shard path '" + shard + "'");
        }
        if (given.isAbsolute() || shard.startsWith("/") || shard.startsWith("\\")) {
            throw new FuseboxException(Problem.SHARD_OUTSIDE_CHECKPOINT, index,
                    "names the absolute shard path '" + shard + "'; shards must lie inside the checkpoint directory");
        }
        Path resolved = dir.resolve(given).normalize();
        if (!resolved.startsWith(dir.normalize()) || List.of(shard.split("[/\\\\]")).contains("..")) {
            throw new FuseboxException(Problem.SHARD_OUTSIDE_CHECKPOINT, index,
                    "names the shard '" + shard + "', which leaves the checkpoint directory");
        }
        if (!Files.exists(resolved, LinkOption.NOFOLLOW_LINKS)) {
            throw new FuseboxException(Problem.MISSING_SHARD, index,
                    "names the shard '" + shard + "', which does not exist");
        }
        try {
            Path real = resolved.toRealPath();
            if (!real.startsWith(dir.toRealPath())) {
                throw new FuseboxException(Problem.SHARD_OUTSIDE_CHECKPOINT, index, "names the shard '" + shard
                        + "', a link that leads out of the checkpoint directory (to " + real + ")");
            }
            if (!Files.isRegularFile(real)) {
                throw new FuseboxException(Problem.MISSING_SHARD, index,
                        "names the shard '" + shard + "', which is not a regular file");
            }
        } catch (IOException e) {
            throw new FuseboxException(Problem.MISSING_SHARD, index,
                    "names the shard '" + shard + "', which cannot be resolved (" + e.getMessage() + ")");
        }
        return resolved;
    }
}
