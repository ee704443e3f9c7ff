package dev.fusebox.converter.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.JsonValues;
import dev.fusebox.converter.Limits;
import dev.fusebox.converter.Problem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;
import java.util.Set;

/**
 * {@code model.safetensors.index.json}: which shard holds which tensor. Every shard name is checked to stay
 * inside the checkpoint directory — no absolute paths, no {@code ..} — and to exist, before any shard is opened
 * (links are followed or refused by {@link CheckpointFolder}).
 */
public record ShardIndex(Path file, Map<String, String> weightMap, SequencedSet<String> shardNames) {

    public static final String FILE_NAME = "model.safetensors.index.json";

    public ShardIndex {
        weightMap = Collections.unmodifiableMap(weightMap instanceof ReadWeights ? weightMap
                : new LinkedHashMap<>(weightMap));
        shardNames = Collections.unmodifiableSequencedSet(new LinkedHashSet<>(shardNames));
    }

    /**
     * The weight map {@link #read} builds and hands over, which no one else holds: the record keeps it rather than
     * a copy of its 100 000 entries.
     */
    private static final class ReadWeights extends LinkedHashMap<String, String> {
        private static final long serialVersionUID = 1L;
    }

    /** Reads and checks an index; shard paths are resolved against the index's directory. */
    public static ShardIndex read(Path file) throws FuseboxException {
        byte[] bytes = JsonFiles.readText(file, Problem.INVALID_INDEX);
        Map<String, String> weights = null;
        SequencedSet<String> shards = new LinkedHashSet<>();
        // Streamed, not read as a tree: an index of a large model lists 100 000 keys and is opened on every inspect.
        try (JsonParser p = JsonFiles.parser(bytes)) {
            // Names given twice are found here rather than by the parser, whose check would keep a set of the
            // weight map's 100 000 keys beside the map that holds them (two thirds of the time it takes to read).
            p.disable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new FuseboxException(Problem.INVALID_INDEX, file, "is not a JSON object");
            }
            Set<String> fields = new HashSet<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                if (!fields.add(field)) {
                    throw duplicate(file, field);
                }
                JsonToken value = p.nextToken();
                if (!field.equals("weight_map")) {
                    skipOrRefuse(file, p);
                    continue;
                }
                if (value != JsonToken.START_OBJECT) {
                    throw new FuseboxException(Problem.INVALID_INDEX, file, "has a weight_map that is not an object");
                }
                weights = new ReadWeights();
                String last = null;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    if (weights.containsKey(key)) {
                        throw duplicate(file, key);
                    }
                    if (p.nextToken() != JsonToken.VALUE_STRING) {
                        // Named by its kind, not printed: a hostile value can be megabytes long.
                        String kind = switch (p.currentToken()) {
                            case START_OBJECT -> "an object";
                            case START_ARRAY -> "a list";
                            case VALUE_NULL -> "null";
                            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
                            default -> "the number " + p.getText();
                        };
                        throw new FuseboxException(Problem.INVALID_INDEX, file, key,
                                "its weight_map entry is " + kind + ", expected a shard file name");
                    }
                    // Consecutive keys mostly name one shard: that name is kept once, not made again per key.
                    String shard = last != null && sameText(p, last) ? last : p.getText();
                    if (weights.size() == Limits.MAX_TENSORS) {
                        throw new FuseboxException(Problem.TOO_MANY_TENSORS, file, "lists more than "
                                + Limits.MAX_TENSORS + " tensors, more than Fusebox opens in one checkpoint");
                    }
                    weights.put(key, shard);
                    if (!shard.equals(last)) {
                        shards.add(shard);
                        last = shard;
                    }
                }
            }
            if (p.nextToken() != null) {
                throw new FuseboxException(Problem.INVALID_INDEX, file, "has content after its JSON object");
            }
        } catch (IOException e) {
            throw JsonFiles.notJson(file, Problem.INVALID_INDEX, e);
        }
        if (weights == null) {
            throw new FuseboxException(Problem.INVALID_INDEX, file, "has no weight_map object");
        }
        Path dir = file.toAbsolutePath().getParent();
        for (String shard : shards) {
            resolveShard(file, dir, shard);
        }
        return new ShardIndex(file, weights, shards);
    }

    private static void skipOrRefuse(Path file, JsonParser p) throws IOException, FuseboxException {
        String twice = JsonValues.skip(p);
        if (twice != null) {
            throw duplicate(file, twice);
        }
    }

    /** A name given twice in one object, worded as the parser words it. */
    private static FuseboxException duplicate(Path file, String name) {
        return new FuseboxException(Problem.INVALID_INDEX, file, "is not valid JSON (Duplicate field '" + name + "')");
    }

    /** Whether the parser's current string is {@code text}, compared where the parser holds it. */
    private static boolean sameText(JsonParser p, String text) throws IOException {
        int length = p.getTextLength();
        if (length != text.length()) {
            return false;
        }
        char[] chars = p.getTextCharacters();
        int offset = p.getTextOffset();
        for (int i = 0; i < length; i++) {
            if (chars[offset + i] != text.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The path of a shard, checked to lie inside {@code dir} by name and to exist; where a link there leads is the
     * checkpoint's {@link CheckpointFolder} rule to judge.
     */
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
        return resolved;
    }
}
