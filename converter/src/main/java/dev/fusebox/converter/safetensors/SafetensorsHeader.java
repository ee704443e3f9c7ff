package dev.fusebox.converter.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.SerializedString;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.JsonValues;
import dev.fusebox.converter.Limits;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Utf8;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorEntry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The parsed and validated header of a safetensors file. Validation follows the reference implementation, in
 * its order: size of the length prefix, the 100 MB limit, the length against the file, UTF-8, JSON shape
 * (known dtypes, string metadata, non-negative integer dims and offsets), then the offsets sorted: each tensor
 * begins where the previous one ends, its elements make whole bytes (sub-byte dtypes: element count times bits a
 * multiple of 8), its span is those bytes, and the last one
 * ends where the file ends. Two gaps of the reference are closed: duplicate keys are refused, and leading
 * whitespace before the JSON object is accepted.
 */
public final class SafetensorsHeader {

    /** The format's limit on the header length. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    // Keys are not interned: a large checkpoint has 100 000 distinct ones and interning them costs more than parsing.
    // Names given twice are found by the reader below, not by the parser, whose check makes a set for every
    // tensor's entry.
    private static final JsonFactory JSON = JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength((int) MAX_HEADER_BYTES)
                    .maxNestingDepth(8)
                    .build())
            .build();

    // The names of an entry's fields, in the order writers put them: matched against the header's bytes as they
    // are, so a large checkpoint does not make three strings per tensor only to compare them.
    private static final SerializedString[] FIELDS = {new SerializedString("dtype"), new SerializedString("shape"),
            new SerializedString("data_offsets")};
    private static final Dtype[] DTYPES = Dtype.values();

    private final Map<String, String> metadata;
    private final List<TensorEntry> tensors;
    // Made on the first lookup by key: opening reads the list, and a large checkpoint has 100 000 entries.
    private volatile Map<String, TensorEntry> byKey;
    private final long headerLength;

    private SafetensorsHeader(Map<String, String> metadata, List<TensorEntry> tensors, long headerLength) {
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = List.copyOf(tensors);
        this.headerLength = headerLength;
    }

    /** The string-to-string {@code __metadata__} map (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** All tensors, in the order of their data in the file. */
    public List<TensorEntry> tensors() {
        return tensors;
    }

    public Optional<TensorEntry> tensor(String key) {
        Map<String, TensorEntry> m = byKey;
        if (m == null) {
            m = HashMap.newHashMap(tensors.size());
            for (TensorEntry t : tensors) {
                m.put(t.key(), t);
            }
            byKey = m;
        }
        return Optional.ofNullable(m.get(key));
    }

    /** N, the length of the JSON header as the 8-byte prefix gives it. */
    public long headerLength() {
        return headerLength;
    }

    /** Where the data section starts in the file: 8 + N. */
    public long dataStart() {
        return 8 + headerLength;
    }

    /** Reads and validates the header of {@code file} through {@code channel}; the channel's size bounds every read. */
    public static SafetensorsHeader read(Path file, FileChannel channel) throws FuseboxException, IOException {
        long fileSize = channel.size();
        if (fileSize < 8) {
            throw new FuseboxException(Problem.HEADER_TOO_SMALL, file,
                    "the file is " + fileSize + " bytes long, too short to hold a safetensors header length");
        }
        ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, prefix, 0);
        long n = prefix.getLong(0);
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new FuseboxException(Problem.HEADER_TOO_LARGE, file, "the header length "
                    + Long.toUnsignedString(n) + " is over the format's limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (8 + n > fileSize) {
            throw new FuseboxException(Problem.INVALID_HEADER_LENGTH, file, "the header length " + n
                    + " points past the end of the file (" + fileSize + " bytes); the file may be truncated");
        }
        ByteBuffer json = ByteBuffer.allocate((int) n);
        readFully(channel, json, 8);
        return parse(file, json.array(), fileSize - 8 - n);
    }

    /** Parses header bytes (without the length prefix) for a data section of {@code dataLength} bytes. */
    public static SafetensorsHeader parse(Path file, byte[] json, long dataLength) throws FuseboxException {
        requireUtf8(file, json);
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorEntry> tensors = new ArrayList<>();
        Scratch scratch = new Scratch();
        try (JsonParser p = JSON.createParser(Utf8.jsonText(json))) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw invalid(file, null, "the header is not a JSON object");
            }
            Set<String> keys = new HashSet<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                if (!keys.add(key)) {
                    throw duplicate(file, key);
                }
                p.nextToken();
                if (key.equals("__metadata__")) {
                    readMetadata(file, p, metadata);
                } else {
                    if (tensors.size() == Limits.MAX_TENSORS_PER_FILE) {
                        throw new FuseboxException(Problem.TOO_MANY_TENSORS, file, "the header lists more than "
                                + Limits.MAX_TENSORS_PER_FILE + " tensors, more than Fusebox opens in one file");
                    }
                    tensors.add(readTensor(file, p, key, scratch));
                }
            }
            if (p.nextToken() != null) {
                throw invalid(file, null, "the header has content after its JSON object");
            }
        } catch (StreamConstraintsException e) {
            throw invalid(file, null, "the header exceeds a parser limit (" + e.getOriginalMessage() + ")");
        } catch (JsonParseException e) {
            throw invalid(file, null, "the header is not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw invalid(file, null, "the header could not be parsed (" + e.getMessage() + ")");
        }
        validateOffsets(file, tensors, dataLength);
        return new SafetensorsHeader(metadata, tensors, json.length);
    }

    private static void readMetadata(Path file, JsonParser p, Map<String, String> metadata)
            throws IOException, FuseboxException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return;
        }
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new FuseboxException(Problem.INVALID_METADATA, file, "__metadata__ is not a JSON object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String k = p.currentName();
            if (metadata.containsKey(k)) {
                throw duplicate(file, k);
            }
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw new FuseboxException(Problem.INVALID_METADATA, file,
                        "__metadata__ entry '" + k + "' is not a string (metadata holds strings only)");
            }
            metadata.put(k, p.getText());
        }
    }

    /** Numbers read from a header, kept between entries: most of a large header is 100 000 small arrays. */
    private static final class Scratch {
        final long[] values = new long[64];
        // One array per rank, which the Shape copies.
        final long[][] byRank = new long[65][];

        long[] exact(int n) {
            long[] a = byRank[n];
            if (a == null) {
                a = new long[n];
                byRank[n] = a;
            }
            System.arraycopy(values, 0, a, 0, n);
            return a;
        }
    }

    private static TensorEntry readTensor(Path file, JsonParser p, String key, Scratch scratch)
            throws IOException, FuseboxException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw invalid(file, key, "its header entry is not a JSON object");
        }
        Dtype dtype = null;
        Shape shape = null;
        long begin = -1;
        long end = -1;
        int expected = 0;
        Set<String> others = null;
        while (true) {
            boolean usual = p.nextFieldName(FIELDS[expected]);
            if (p.currentToken() != JsonToken.FIELD_NAME) {
                break;
            }
            String field = usual ? FIELDS[expected].getValue() : p.currentName();
            expected = (expected + 1) % FIELDS.length;
            boolean again = switch (field) {
                case "dtype" -> dtype != null;
                case "shape" -> shape != null;
                case "data_offsets" -> begin >= 0;
                default -> {
                    others = others == null ? new HashSet<>() : others;
                    yield !others.add(field);
                }
            };
            if (again) {
                throw duplicate(file, field);
            }
            JsonToken value = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (value != JsonToken.VALUE_STRING) {
                        throw invalid(file, key, "dtype is not a string");
                    }
                    dtype = dtype(p);
                    if (dtype == null) {
                        throw new FuseboxException(Problem.UNKNOWN_DTYPE, file, key,
                                "unknown dtype '" + p.getText() + "'");
                    }
                }
                case "shape" -> shape = new Shape(scratch.exact(
                        readLongs(file, p, key, "shape", Problem.INVALID_SHAPE, scratch.values)));
                case "data_offsets" -> {
                    int n = readLongs(file, p, key, "data_offsets", Problem.INVALID_OFFSETS, scratch.values);
                    if (n != 2) {
                        throw new FuseboxException(Problem.INVALID_OFFSETS, file, key,
                                "data_offsets has " + n + " numbers instead of 2");
                    }
                    begin = scratch.values[0];
                    end = scratch.values[1];
                }
                default -> skipOrRefuse(file, p);
            }
        }
        if (dtype == null || shape == null || begin < 0) {
            String missing = dtype == null ? "dtype" : shape == null ? "shape" : "data_offsets";
            throw invalid(file, key, "its header entry has no " + missing);
        }
        return new TensorEntry(key, dtype, shape, begin, end);
    }

    private static void skipOrRefuse(Path file, JsonParser p) throws IOException, FuseboxException {
        String twice = JsonValues.skip(p);
        if (twice != null) {
            throw duplicate(file, twice);
        }
    }

    private static FuseboxException duplicate(Path file, String name) {
        return new FuseboxException(Problem.DUPLICATE_KEY, file, "the header names a key twice ('" + name + "')");
    }

    /** The dtype the current string names exactly, or null; read from the parser's buffer, not made a string. */
    private static Dtype dtype(JsonParser p) throws IOException {
        char[] text = p.getTextCharacters();
        int offset = p.getTextOffset();
        int length = p.getTextLength();
        for (Dtype d : DTYPES) {
            String name = d.name();
            if (name.length() == length && sameChars(name, text, offset)) {
                return d;
            }
        }
        return null;
    }

    private static boolean sameChars(String s, char[] text, int offset) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) != text[offset + i]) {
                return false;
            }
        }
        return true;
    }

    /** Reads a JSON array of non-negative integers into {@code values}; returns how many there are. */
    private static int readLongs(Path file, JsonParser p, String key, String field, Problem problem, long[] values)
            throws IOException, FuseboxException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw new FuseboxException(problem, file, key, field + " is not a JSON array");
        }
        int n = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
                throw new FuseboxException(problem, file, key, field + " holds '" + p.getText()
                        + "', which is not a non-negative integer");
            }
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                throw new FuseboxException(Problem.SIZE_OVERFLOW, file, key,
                        field + " holds " + p.getText() + ", which does not fit in 64 bits");
            }
            long v = p.getLongValue();
            if (v < 0) {
                throw new FuseboxException(problem, file, key, field + " holds the negative number " + v);
            }
            if (n == values.length) {
                throw new FuseboxException(problem, file, key, field + " has more than 64 entries");
            }
            values[n++] = v;
        }
        return n;
    }

    private static void validateOffsets(Path file, List<TensorEntry> tensors, long dataLength)
            throws FuseboxException {
        tensors.sort(Comparator.comparingLong(TensorEntry::begin).thenComparingLong(TensorEntry::end));
        long expectedBegin = 0;
        for (TensorEntry t : tensors) {
            if (t.begin() != expectedBegin || t.end() < t.begin()) {
                String why = t.end() < t.begin() ? "its data_offsets are reversed"
                        : t.begin() < expectedBegin ? "its bytes overlap the previous tensor's"
                        : "there is a hole of " + (t.begin() - expectedBegin) + " bytes before it";
                throw new FuseboxException(Problem.INVALID_OFFSETS, file, t.key(),
                        why + " (data_offsets [" + t.begin() + ", " + t.end() + "], expected to begin at "
                                + expectedBegin + ")");
            }
            long bits;
            try {
                bits = t.shape().bitSize(t.dtype());
            } catch (ArithmeticException e) {
                throw new FuseboxException(Problem.SIZE_OVERFLOW, file, t.key(),
                        "shape " + t.shape() + " of " + t.dtype() + " has a size that does not fit in 64 bits");
            }
            if (bits % 8 != 0) {
                throw new FuseboxException(Problem.MISALIGNED_BITS, file, t.key(), "shape " + t.shape() + " of "
                        + t.dtype() + " (" + t.dtype().bits() + "-bit elements) is " + bits + " bits, which do not "
                        + "make whole bytes");
            }
            long size = bits / 8;
            if (t.end() - t.begin() != size) {
                throw new FuseboxException(Problem.SIZE_MISMATCH, file, t.key(), "it spans "
                        + (t.end() - t.begin()) + " bytes, but shape " + t.shape() + " of " + t.dtype()
                        + " needs " + size);
            }
            expectedBegin = t.end();
        }
        if (expectedBegin != dataLength) {
            throw new FuseboxException(Problem.INCOMPLETE_DATA, file, expectedBegin < dataLength
                    ? "the data section holds " + dataLength + " bytes, but the tensors cover only " + expectedBegin
                    : "the tensors need " + expectedBegin + " bytes of data, but the file holds only " + dataLength
                            + "; the file may be truncated");
        }
    }

    private static void requireUtf8(Path file, byte[] json) throws FuseboxException {
        int bad = Utf8.firstInvalid(json);
        if (bad >= 0) {
            throw new FuseboxException(Problem.INVALID_HEADER_UTF8, file,
                    "the header is not valid UTF-8 (bad byte at header offset " + bad + ")");
        }
    }

    private static FuseboxException invalid(Path file, String key, String detail) {
        return new FuseboxException(Problem.INVALID_HEADER_JSON, file, key, detail);
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        long pos = position;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }
}
