package dev.fusebox.converter.checkpoint;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Utf8;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * Reads the small JSON files of a checkpoint (config.json, adapter_config.json, the shard index) strictly enough
 * to name what is wrong, tolerantly enough to accept what Python's json module writes (NaN, Infinity).
 */
final class JsonFiles {

    /** No config or index of a real checkpoint comes near this; a larger one is refused rather than parsed. */
    static final long MAX_BYTES = 64L * 1024 * 1024;

    // Field names are not interned: an index names 100 000 distinct keys, and interning them dominates parsing.
    private static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
    }

    private JsonFiles() {
    }

    /** Reads {@code file} as a JSON object. */
    static ObjectNode readObject(Path file, Problem problem) throws FuseboxException {
        byte[] bytes = readText(file, problem);
        JsonNode node;
        try (JsonParser p = parser(bytes)) {
            node = MAPPER.readTree(p);
            if (node != null && p.nextToken() != null) {
                throw new FuseboxException(problem, file, "has content after its JSON object");
            }
        } catch (IOException e) {
            throw notJson(file, problem, e);
        }
        if (!(node instanceof ObjectNode object)) {
            throw new FuseboxException(problem, file, "is not a JSON object");
        }
        return object;
    }

    /** The bytes of a JSON file, checked for size and UTF-8, for callers that stream-parse it. */
    static byte[] readText(Path file, Problem problem) throws FuseboxException {
        byte[] bytes;
        try {
            if (Files.exists(file) && !Files.isRegularFile(file)) {
                throw new FuseboxException(problem, file, "is not a regular file");
            }
            if (Files.size(file) > MAX_BYTES) {
                throw tooLarge(file, problem);
            }
            // The read is bounded too: a file that grows while it is read must not be read without end.
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes((int) MAX_BYTES + 1);
            }
            if (bytes.length > MAX_BYTES) {
                throw tooLarge(file, problem);
            }
        } catch (NoSuchFileException e) {
            throw new FuseboxException(problem, file, "does not exist");
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, file, "could not be read (" + IoReason.of(e) + ")", e);
        }
        if (Utf8.firstInvalid(bytes) >= 0) {
            throw new FuseboxException(problem, file, "is not valid UTF-8 text");
        }
        return bytes;
    }

    private static FuseboxException tooLarge(Path file, Problem problem) {
        return new FuseboxException(problem, file, "is over the " + MAX_BYTES
                + "-byte limit for a JSON file of a checkpoint");
    }

    /**
     * A streaming parser over checked bytes, with the same strictness as {@link #readObject}. It reads the text as
     * characters: over bytes, a parser that does not intern field names would decode them through a reader, slowly.
     */
    static JsonParser parser(byte[] bytes) throws IOException {
        return MAPPER.createParser(Utf8.jsonText(bytes));
    }

    static FuseboxException notJson(Path file, Problem problem, IOException e) {
        String m = e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage()
                : e.getMessage();
        return new FuseboxException(problem, file, "is not valid JSON (" + firstLine(m) + ")");
    }

    static OptionalInt intField(Path file, JsonNode node, String field, Problem problem) throws FuseboxException {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return OptionalInt.empty();
        }
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            return OptionalInt.of(v.intValue());
        }
        if (v.isFloatingPointNumber() && v.doubleValue() == Math.rint(v.doubleValue())
                && Math.abs(v.doubleValue()) <= Integer.MAX_VALUE) {
            return OptionalInt.of((int) v.doubleValue());
        }
        throw new FuseboxException(problem, file, field + " is " + v + ", expected an integer");
    }

    static OptionalInt positiveIntField(Path file, JsonNode node, String field, Problem problem)
            throws FuseboxException {
        OptionalInt v = intField(file, node, field, problem);
        if (v.isPresent() && v.getAsInt() <= 0) {
            throw new FuseboxException(problem, file, field + " is " + v.getAsInt() + ", expected a positive integer");
        }
        return v;
    }

    static OptionalDouble doubleField(Path file, JsonNode node, String field, Problem problem)
            throws FuseboxException {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return OptionalDouble.empty();
        }
        if (v.isNumber()) {
            return OptionalDouble.of(v.doubleValue());
        }
        throw new FuseboxException(problem, file, field + " is " + v + ", expected a number");
    }

    static String stringField(Path file, JsonNode node, String field, Problem problem) throws FuseboxException {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new FuseboxException(problem, file, field + " is " + v + ", expected a string");
        }
        return v.textValue();
    }

    static Boolean booleanField(Path file, JsonNode node, String field, Problem problem) throws FuseboxException {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isBoolean()) {
            throw new FuseboxException(problem, file, field + " is " + v + ", expected true or false");
        }
        return v.booleanValue();
    }

    /** A list of strings; a single string is read as a list of one. */
    static List<String> stringList(Path file, JsonNode node, String field, Problem problem) throws FuseboxException {
        JsonNode v = node.get(field);
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (v.isTextual()) {
            out.add(v.textValue());
            return out;
        }
        if (!v.isArray()) {
            throw new FuseboxException(problem, file, field + " is " + v + ", expected a list of strings");
        }
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw new FuseboxException(problem, file, field + " holds " + e + ", expected strings only");
            }
            out.add(e.textValue());
        }
        return out;
    }

    static ObjectMapper mapper() {
        return MAPPER;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
