package dev.fusebox.converter.safetensors;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** A corpus of hand-written malformed files, each with the problem and the words of its message. */
public class MalformedSafetensorsTest {

    @TempDir
    Path dir;

    static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return concat(lengthPrefix(h.length), h, new byte[dataBytes]);
    }

    static byte[] lengthPrefix(long n) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static String tensor(String key, String dtype, String shape, long begin, long end) {
        return "\"" + key + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + ","
                + end + "]}";
    }

    public static Stream<Arguments> corpus() {
        String ok = tensor("a", "F32", "[2]", 0, 8);
        return Stream.of(
                arguments("empty file", new byte[0], Problem.HEADER_TOO_SMALL, "too short"),
                arguments("seven bytes", new byte[7], Problem.HEADER_TOO_SMALL, "7 bytes"),
                arguments("header over 100 MB", concat(lengthPrefix(100_000_001L), new byte[16]),
                        Problem.HEADER_TOO_LARGE, "100000001"),
                arguments("header length with the top bit set", concat(lengthPrefix(-8L), new byte[16]),
                        Problem.HEADER_TOO_LARGE, "18446744073709551608"),
                arguments("header length past the end", concat(lengthPrefix(64), "{}".getBytes(StandardCharsets.UTF_8)),
                        Problem.INVALID_HEADER_LENGTH, "truncated"),
                arguments("invalid UTF-8", concat(lengthPrefix(4), new byte[] {'{', (byte) 0xC3, 0x28, '}'}),
                        Problem.INVALID_HEADER_UTF8, "UTF-8"),
                arguments("a JSON array", file("[]", 0), Problem.INVALID_HEADER_JSON, "not a JSON object"),
                arguments("not JSON", file("hello", 0), Problem.INVALID_HEADER_JSON, "not valid JSON"),
                arguments("truncated JSON", file("{\"a\":", 0), Problem.INVALID_HEADER_JSON, "not valid JSON"),
                arguments("two objects", file("{} {}", 0), Problem.INVALID_HEADER_JSON, "after its JSON object"),
                arguments("a tensor that is not an object", file("{\"a\":3}", 0), Problem.INVALID_HEADER_JSON,
                        "tensor 'a'"),
                arguments("a missing dtype", file("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                        Problem.INVALID_HEADER_JSON, "no dtype"),
                arguments("an unknown dtype", file("{" + tensor("w", "F33", "[1]", 0, 4) + "}", 4),
                        Problem.UNKNOWN_DTYPE, "unknown dtype 'F33'"),
                arguments("non-string metadata", file("{\"__metadata__\":{\"format\":1}," + ok + "}", 8),
                        Problem.INVALID_METADATA, "'format' is not a string"),
                arguments("metadata that is a list", file("{\"__metadata__\":[]}", 0),
                        Problem.INVALID_METADATA, "not a JSON object"),
                arguments("a negative dimension", file("{" + tensor("w", "F32", "[-1]", 0, 4) + "}", 4),
                        Problem.INVALID_SHAPE, "negative"),
                arguments("a fractional dimension", file("{" + tensor("w", "F32", "[1.5]", 0, 4) + "}", 4),
                        Problem.INVALID_SHAPE, "not a non-negative integer"),
                arguments("a dimension past 64 bits",
                        file("{" + tensor("w", "F32", "[99999999999999999999]", 0, 4) + "}", 4),
                        Problem.SIZE_OVERFLOW, "64 bits"),
                arguments("dimensions whose product overflows",
                        file("{" + tensor("w", "F32", "[4294967296,4294967296]", 0, 4) + "}", 4),
                        Problem.SIZE_OVERFLOW, "64 bits"),
                arguments("three data offsets", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8),
                        Problem.INVALID_OFFSETS, "3 numbers"),
                arguments("reversed offsets", file("{" + tensor("w", "F32", "[1]", 4, 0) + "}", 4),
                        Problem.INVALID_OFFSETS, "reversed"),
                arguments("overlapping tensors", file("{" + tensor("a", "F32", "[2]", 0, 8) + ","
                                + tensor("b", "F32", "[2]", 4, 12) + "}", 12),
                        Problem.INVALID_OFFSETS, "overlap"),
                arguments("a hole between tensors", file("{" + tensor("a", "F32", "[1]", 0, 4) + ","
                                + tensor("b", "F32", "[1]", 8, 12) + "}", 12),
                        Problem.INVALID_OFFSETS, "hole of 4 bytes"),
                arguments("a span that is not the shape's size", file("{" + tensor("w", "F32", "[3]", 0, 8) + "}", 8),
                        Problem.SIZE_MISMATCH, "needs 12"),
                arguments("trailing bytes after the last tensor", file("{" + ok + "}", 12),
                        Problem.INCOMPLETE_DATA, "cover only 8"),
                arguments("a truncated data section", file("{" + ok + "}", 4),
                        Problem.INCOMPLETE_DATA, "truncated"),
                arguments("a key given twice", file("{" + ok + "," + tensor("a", "F32", "[2]", 8, 16) + "}", 16),
                        Problem.DUPLICATE_KEY, "twice"),
                arguments("a field given twice in an entry",
                        file("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                        Problem.DUPLICATE_KEY, "'dtype'"),
                arguments("an unknown field given twice in an entry",
                        file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1,\"x\":2}}", 4),
                        Problem.DUPLICATE_KEY, "'x'"),
                arguments("a metadata key given twice",
                        file("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}," + ok + "}", 8),
                        Problem.DUPLICATE_KEY, "'a'"),
                arguments("a JSON string", file("\"{}\"", 0), Problem.INVALID_HEADER_JSON, "not a JSON object"),
                arguments("JSON null", file("null", 0), Problem.INVALID_HEADER_JSON, "not a JSON object"),
                arguments("an empty header", file("", 0), Problem.INVALID_HEADER_JSON, "not a JSON object"),
                arguments("a dtype that is not a string",
                        file("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                        Problem.INVALID_HEADER_JSON, "dtype is not a string"),
                arguments("a lower-case dtype", file("{" + tensor("w", "f32", "[1]", 0, 4) + "}", 4),
                        Problem.UNKNOWN_DTYPE, "'f32'"),
                arguments("a shape that is not an array",
                        file("{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", 4),
                        Problem.INVALID_SHAPE, "shape is not a JSON array"),
                arguments("a negative offset", file("{" + tensor("w", "F32", "[1]", -4, 0) + "}", 4),
                        Problem.INVALID_OFFSETS, "negative"),
                arguments("an offset past 64 bits",
                        file("{" + tensor("w", "F32", "[1]", 0, 0) .replace("[0,0]", "[0,18446744073709551620]") + "}", 4),
                        Problem.SIZE_OVERFLOW, "64 bits"),
                arguments("more than 64 dimensions", file("{" + tensor("w", "F32", "[" + "1,".repeat(70) + "1]", 0, 4)
                        + "}", 4), Problem.INVALID_SHAPE, "more than 64 entries"),
                arguments("nesting past the parser's depth limit",
                        file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":" + "[".repeat(100)
                                + "]".repeat(100) + "}}", 4),
                        Problem.INVALID_HEADER_JSON, "parser limit"),
                arguments("a NUL byte in place of the header", concat(lengthPrefix(2), new byte[] {0, 0}),
                        Problem.INVALID_HEADER_JSON, "not valid JSON"),
                arguments("a header in UTF-16", concat(lengthPrefix(4), "{}".getBytes(StandardCharsets.UTF_16BE)),
                        Problem.INVALID_HEADER_JSON, "not valid JSON"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void malformedFilesAreRefusedWithTheirProblemNamed(String name, byte[] bytes, Problem problem, String words)
            throws IOException {
        Path f = dir.resolve("bad.safetensors");
        Files.write(f, bytes);
        assertThatThrownBy(() -> SafetensorsFile.open(f))
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(problem);
                    assertThat(e.getMessage()).startsWith(f.toString()).contains(words);
                });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("validOddities")
    void oddButValidHeadersAreAccepted(String name, String header, int data, int tensors) throws Exception {
        Path f = dir.resolve("ok.safetensors");
        Files.write(f, file(header, data));
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertThat(s.tensors()).hasSize(tensors);
        }
    }

    static Stream<Arguments> validOddities() {
        return Stream.of(
                arguments("leading whitespace", "  \n{" + tensor("a", "F32", "[2]", 0, 8) + "}", 8, 1),
                arguments("a UTF-8 byte order mark", "\uFEFF{" + tensor("a", "F32", "[2]", 0, 8) + "}", 8, 1),
                arguments("trailing padding", "{" + tensor("a", "F32", "[2]", 0, 8) + "}      ", 8, 1),
                arguments("no tensors", "{}", 0, 0),
                arguments("null metadata", "{\"__metadata__\":null}", 0, 0),
                arguments("a scalar and an empty tensor", "{" + tensor("s", "F64", "[]", 0, 8) + ","
                        + tensor("e", "F32", "[0,3]", 8, 8) + "}", 8, 2),
                arguments("unknown extra fields in an entry",
                        "{\"a\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2],\"note\":{\"x\":[1]}}}", 2, 1));
    }
}
