package dev.fusebox.converter.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.PlanExecutor;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The placement algebra, property by property: for random shapes and random chains of a rule file's operations
 * (stack, concat, transpose, chunk), a conversion writes every target element where the operations' definitions
 * put it (checked against {@link IntTensor}, an element-wise oracle, on tensors whose every element is distinct),
 * and converting the output back gives the input's files byte for byte (each operation's inverse undoes it).
 * The cases are drawn from a fixed seed, so a failure names its parameters and reruns the same; change
 * {@link #SEED} to explore others.
 */
class PlacementAlgebraTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String LAYER = "model.layers.0.mlp.";
    /** No transpose, then the three axis pairs of a rank-3 tensor. */
    private static final int[][] TRANSPOSES = {{}, {0, 1}, {0, 2}, {1, 2}};
    private static final long SEED = 20261204L;
    private static final int CASES = 60;

    /** experts 1-4, sources 1-2, concat axis 1-2, transpose 0-3, rows 1-4, cols 1-4. */
    static Stream<Arguments> mergeCases() {
        Random r = new Random(SEED);
        return Stream.generate(() -> Arguments.of(1 + r.nextInt(4), 1 + r.nextInt(2), 1 + r.nextInt(2), r.nextInt(4),
                1 + r.nextInt(4), 1 + r.nextInt(4))).limit(CASES);
    }

    /** chunk axis 0-2, transpose 0-3, and the three extents 1-3. */
    static Stream<Arguments> chunkCases() {
        Random r = new Random(SEED + 1);
        return Stream.generate(() -> Arguments.of(r.nextInt(3), r.nextInt(4), 1 + r.nextInt(3), 1 + r.nextInt(3),
                1 + r.nextInt(3))).limit(CASES);
    }

    /** Per-expert tensors stacked (MergeModulelist), optionally concatenated and transposed: the merge direction. */
    @ParameterizedTest(name = "experts {0}, sources {1}, concat axis {2}, transpose {3}, {4}x{5}")
    @MethodSource("mergeCases")
    void mergedExpertsLandWhereTheOperationsPutThemAndConvertBackExactly(int experts, int sources, int concatAxis,
                                                                         int transpose, int rows, int cols)
            throws Exception {
        Map<String, IntTensor> legacy = new LinkedHashMap<>();
        List<IntTensor> perSource = new ArrayList<>();
        int next = 1;
        for (int s = 0; s < sources; s++) {
            // Equal parts, as the planner requires of a concat, so that its inverse (chunk) can split them again.
            List<IntTensor> list = new ArrayList<>();
            for (int e = 0; e < experts; e++) {
                IntTensor t = IntTensor.numbered(next, rows, cols);
                next += t.values().length;
                legacy.put(LAYER + "experts." + e + ".w" + s + ".weight", t);
                list.add(t);
            }
            perSource.add(IntTensor.stack(list, 0));
        }
        IntTensor expected = sources == 2 ? IntTensor.concat(perSource, concatAxis) : perSource.getFirst();
        List<String> ops = new ArrayList<>(List.of(op("stack", 0)));
        if (sources == 2) {
            ops.add(op("concat", concatAxis));
        }
        int[] swap = TRANSPOSES[transpose];
        if (swap.length == 2) {
            ops.add(transposeOp(swap));
            expected = expected.transpose(swap[0], swap[1]);
        }
        List<String> patterns = new ArrayList<>();
        for (int s = 0; s < sources; s++) {
            patterns.add(".experts.*.w" + s + ".weight");
        }
        convertAndBack(patterns, List.of(".experts.fused"), ops, legacy,
                Map.of(LAYER + "experts.fused", expected));
    }

    /** One packed tensor, optionally transposed, chunked into two targets: the split direction. */
    @ParameterizedTest(name = "chunk axis {0}, transpose {1}, {2}x{3}x{4}")
    @MethodSource("chunkCases")
    void chunkedTensorsLandWhereTheOperationsPutThemAndConvertBackExactly(int chunkAxis, int transpose, int a, int b,
                                                                          int c) throws Exception {
        List<String> ops = new ArrayList<>();
        int[] swap = TRANSPOSES[transpose];
        if (swap.length == 2) {
            ops.add(transposeOp(swap));
        }
        // The chunked axis holds an even extent: double the packed tensor's axis that lands there.
        int source = chunkAxis;
        if (swap.length == 2 && (chunkAxis == swap[0] || chunkAxis == swap[1])) {
            source = chunkAxis == swap[0] ? swap[1] : swap[0];
        }
        int[] dims = {a, b, c};
        dims[source] *= 2;
        IntTensor packed = IntTensor.numbered(1, dims);
        IntTensor moved = swap.length == 2 ? packed.transpose(swap[0], swap[1]) : packed;
        ops.add(op("chunk", chunkAxis));
        convertAndBack(List.of(".packed"), List.of(".part_a", ".part_b"), ops, Map.of(LAYER + "packed", packed),
                Map.of(LAYER + "part_a", moved.chunk(2, chunkAxis, 0), LAYER + "part_b", moved.chunk(2, chunkAxis, 1)));
    }

    private static void convertAndBack(List<String> sources, List<String> targets, List<String> ops,
                                       Map<String, IntTensor> legacy, Map<String, IntTensor> expected)
            throws Exception {
        Path dir = Files.createTempDirectory("placement");
        try {
            Path rules = dir.resolve("algebra.json");
            Files.writeString(rules, "{\"family\": \"algebra\", \"model_types\": [\"algebra\"], \"converters\": [{"
                    + "\"sources\": " + JSON.writeValueAsString(sources) + ", \"targets\": "
                    + JSON.writeValueAsString(targets) + ", \"operations\": [" + String.join(", ", ops) + "]}]}");
            RuleBook book = RuleBook.bundled().withFiles(List.of(rules));
            Path in = dir.resolve("legacy");
            Files.createDirectories(in);
            Files.writeString(in.resolve("config.json"), "{\"model_type\": \"algebra\"}");
            writeSafetensors(in.resolve("model.safetensors"), legacy);
            Path v5 = convert(in, dir.resolve("v5"), book);
            Map<String, IntTensor> written = readSafetensors(v5.resolve("model.safetensors"));
            if (!written.keySet().equals(expected.keySet())) {
                throw new AssertionError("wrote " + written.keySet() + ", expected " + expected.keySet() + " for "
                        + ops);
            }
            expected.forEach((key, want) -> assertSame(key + " after " + ops, written.get(key), want));
            Path back = convert(v5, dir.resolve("back"), book);
            byte[] original = Files.readAllBytes(in.resolve("model.safetensors"));
            Map<String, IntTensor> again = readSafetensors(back.resolve("model.safetensors"));
            legacy.forEach((key, want) -> assertSame(key + " back through the inverse of " + ops, again.get(key),
                    want));
            if (again.size() != legacy.size() || original.length != Files.size(back.resolve("model.safetensors"))) {
                throw new AssertionError("the way back wrote " + again.keySet() + " for " + legacy.keySet());
            }
        } finally {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private static Path convert(Path in, Path out, RuleBook book) throws Exception {
        try (Checkpoint c = Checkpoint.open(in, book)) {
            PlanExecutor.execute(c, Planner.plan(c, book, Optional.empty()), out, ConvertOptions.DEFAULTS,
                    ProgressListener.NONE, Cancellation.NEVER);
        }
        return out;
    }

    private static void assertSame(String what, IntTensor got, IntTensor want) {
        if (got == null || !Arrays.equals(got.shape(), want.shape())
                || !Arrays.equals(got.values(), want.values())) {
            throw new AssertionError(what + ": got " + (got == null ? "nothing" : describe(got)) + ", expected "
                    + describe(want));
        }
    }

    private static String describe(IntTensor t) {
        return Arrays.toString(t.shape()) + " " + Arrays.toString(t.values());
    }

    private static String op(String name, int dim) {
        return "{\"op\": \"" + name + "\", \"dim\": " + dim + "}";
    }

    private static String transposeOp(int[] swap) {
        return "{\"op\": \"transpose\", \"dim0\": " + swap[0] + ", \"dim1\": " + swap[1] + "}";
    }

    /** Written by hand from the format (8-byte header length, JSON header, data), so no engine code is involved. */
    private static void writeSafetensors(Path file, Map<String, IntTensor> tensors) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (var e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            // F32, each element's bits a distinct int: expert tensors of integer dtypes are quantized ones to the
            // planner, and a conversion moves bytes without reading them as floats.
            t.put("dtype", "F32");
            var shape = t.putArray("shape");
            for (int d : e.getValue().shape()) {
                shape.add(d);
            }
            long end = offset + 4L * e.getValue().values().length;
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        for (IntTensor t : tensors.values()) {
            for (int v : t.values()) {
                out.putInt(v);
            }
        }
        Files.write(file, out.array());
    }

    private static Map<String, IntTensor> readSafetensors(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int length = Math.toIntExact(in.getLong(0));
        JsonNode header = JSON.readTree(new String(in.array(), 8, length, StandardCharsets.UTF_8));
        Map<String, IntTensor> tensors = new LinkedHashMap<>();
        for (var e : header.properties()) {
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            int[] shape = new int[e.getValue().get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = e.getValue().get("shape").get(i).asInt();
            }
            long start = e.getValue().get("data_offsets").get(0).asLong();
            long end = e.getValue().get("data_offsets").get(1).asLong();
            int[] values = new int[Math.toIntExact((end - start) / 4)];
            for (int i = 0; i < values.length; i++) {
                values[i] = in.getInt(Math.toIntExact(8 + length + start + 4L * i));
            }
            tensors.put(e.getKey(), new IntTensor(shape, values));
        }
        return tensors;
    }
}
