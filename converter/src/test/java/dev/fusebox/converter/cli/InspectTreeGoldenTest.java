package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.safetensors.SafetensorsWriter;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code inspect}'s tree against what the real transformers prints: for each golden that tools/tree-templates.py
 * wrote (print(model) of a tiny model of every bundled type, 5.18 for v5 and 4.57.6 for legacy, from configs other
 * than the one the templates were learned from), a checkpoint of that model's config.json and state-dict shapes.
 */
class InspectTreeGoldenTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static Stream<Path> goldens() throws IOException, URISyntaxException {
        Path root = Path.of(InspectTreeGoldenTest.class.getResource("/dev/fusebox/converter/tree/goldens").toURI());
        try (Stream<Path> files = Files.walk(root)) {
            List<Path> found = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
            assertThat(found).hasSizeGreaterThan(100);
            return found.stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldens")
    void inspectPrintsWhatTransformersPrints(Path golden) throws IOException {
        JsonNode g = JSON.readTree(golden.toFile());
        Path checkpoint = dir.resolve("checkpoint");
        Files.createDirectories(checkpoint);
        Files.writeString(checkpoint.resolve("config.json"), JSON.writeValueAsString(g.get("config")));
        List<TensorSpec> tensors = new ArrayList<>();
        g.get("tensors").properties().forEach(e -> {
            long[] dims = new long[e.getValue().size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = e.getValue().get(i).asLong();
            }
            tensors.add(new TensorSpec(e.getKey(), Dtype.BF16, Shape.of(dims)));
        });
        // zeros: the tree reads shapes only
        try (SafetensorsWriter w = SafetensorsWriter.create(checkpoint.resolve("model.safetensors"),
                Map.of("format", "pt"), tensors)) {
            for (TensorSpec t : tensors) {
                w.write(ByteBuffer.allocate(Math.toIntExact(t.byteSize())));
            }
            w.commit();
        }

        CliRun run = CliRun.of("inspect", checkpoint.toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode j = JSON.readTree(run.out());
        String want = Files.readString(Path.of(golden.toString().replaceAll("\\.json$", ".txt")));
        assertThat(j.get("tree").asText()).isEqualTo(want);
        assertThat(j.get("tree_exact").asBoolean()).isTrue();
        assertThat(j.get("tree_source").asText()).startsWith("as transformers "
                + (golden.getParent().getFileName().toString().equals("v5") ? "5." : "4."));
    }
}
