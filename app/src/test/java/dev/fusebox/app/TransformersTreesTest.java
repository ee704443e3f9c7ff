package dev.fusebox.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.testsupport.Fixtures;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TreeRow;
import javafx.scene.control.TreeTableView;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.Start;
import org.testfx.framework.junit5.Stop;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Both panes show the modules transformers prints: checkpoints made from the goldens of tools/tree-templates.py
 * (the config.json and state-dict shapes of tiny models whose print(model) the real transformers wrote) are
 * opened, and every module row of each pane, as {@code (name): type}, is a line of that pane's golden.
 */
class TransformersTreesTest extends WindowTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Start
    void start(Stage stage) {
        showWindow(stage);
    }

    @Stop
    void stop() {
        closeWindow();
    }

    @Test
    void aV5Qwen2MoeShowsTransformers518OnTheRightAnd4576OnTheLeft(FxRobot robot) throws IOException {
        openByDrop(robot, checkpoint("v5", "qwen2_moe-b1"));
        TreeRow v5 = vm.trees().rootProperty(Side.V5).get();
        TreeRow legacy = vm.trees().rootProperty(Side.LEGACY).get();
        assertThat(v5.name()).isEqualTo("Qwen2MoeForCausalLM");
        assertThat(v5.type()).isEqualTo("as transformers 5.18.0 prints it");
        assertThat(legacy.type()).isEqualTo("as transformers 4.57.6 prints it");
        assertThat(module(v5, "model.layers.1.mlp.gate").type()).isEqualTo("Qwen2MoeTopKRouter");
        assertThat(module(v5, "model.rotary_emb").type()).isEqualTo("Qwen2MoeRotaryEmbedding");
        assertThat(module(legacy, "model.layers.1.mlp.experts.0").type()).isEqualTo("Qwen2MoeMLP");
        assertThat(module(legacy, "model.layers.1.mlp.experts.0.gate_proj").tensors()).hasSize(1);
        assertRowsAreGoldenLines(v5, golden("v5", "qwen2_moe-b1"));
        assertRowsAreGoldenLines(legacy, golden("legacy", "qwen2_moe-b1"));
        TreeTableView<?> tree = robot.lookup("#v5-tree").queryAs(TreeTableView.class);
        assertThat(tree.getRoot().getValue()).isSameAs(v5);
    }

    @Test
    void aLegacyDeepseekV3WithADenseFirstLayerShowsBothLayersKinds(FxRobot robot) throws IOException {
        openByDrop(robot, checkpoint("legacy", "deepseek_v3-b1"));
        TreeRow legacy = vm.trees().rootProperty(Side.LEGACY).get();
        TreeRow v5 = vm.trees().rootProperty(Side.V5).get();
        assertThat(module(legacy, "model.layers.0.mlp").type()).isEqualTo("DeepseekV3MLP");
        assertThat(module(legacy, "model.layers.1.mlp").type()).isEqualTo("DeepseekV3MoE");
        assertThat(module(v5, "model.layers.1.mlp.experts").type()).isEqualTo("DeepseekV3Experts");
        assertRowsAreGoldenLines(legacy, golden("legacy", "deepseek_v3-b1"));
        assertRowsAreGoldenLines(v5, golden("v5", "deepseek_v3-b1"));
    }

    @Test
    void aV5OnlyTypesLegacyPaneSaysItIsThePerExpertTreeTheFilesImply(FxRobot robot) throws IOException {
        openByDrop(robot, checkpoint("v5", "minimax_m2-b2"));
        TreeRow v5 = vm.trees().rootProperty(Side.V5).get();
        TreeRow legacy = vm.trees().rootProperty(Side.LEGACY).get();
        assertRowsAreGoldenLines(v5, golden("v5", "minimax_m2-b2"));
        assertThat(legacy.type()).startsWith("the per-expert tree the legacy files imply");
        assertThat(legacy.name()).isEqualTo("MiniMaxM2ForCausalLM");
        assertThat(module(legacy, "model.layers.0.self_attn").type()).isEqualTo("MiniMaxM2Attention");
        assertThat(module(legacy, "model.layers.0.block_sparse_moe.experts.0").type()).isEmpty();
    }

    /** Each module row but the root and list items, as {@code (name): text}, is a line of the golden. */
    private static void assertRowsAreGoldenLines(TreeRow root, String golden) {
        Set<String> lines = Set.copyOf(golden.lines().map(String::strip).toList());
        List<String> rows = new ArrayList<>();
        collect(root, rows);
        assertThat(rows).hasSizeGreaterThan(10);
        assertThat(lines).containsAll(rows);
    }

    private static void collect(TreeRow row, List<String> out) {
        boolean submodules = row.children().stream().anyMatch(c -> !c.isTensor());
        if (row.parent().isPresent() && !row.name().chars().allMatch(Character::isDigit)) {
            String text = row.type() + (submodules ? "(" : row.type().contains("(") ? "" : "()");
            out.add("(" + row.name() + "): " + text);
        }
        row.children().stream().filter(c -> !c.isTensor()).forEach(c -> collect(c, out));
    }

    private static TreeRow module(TreeRow root, String path) {
        if (root.path().equals(path)) {
            return root;
        }
        for (TreeRow c : root.children()) {
            if (!c.isTensor() && (path.equals(c.path()) || path.startsWith(c.path() + "."))) {
                return module(c, path);
            }
        }
        throw new AssertionError("no module row " + path);
    }

    private static Path goldens() {
        return Fixtures.tiny("legacy-base").getParent().getParent()
                .resolve("../converter/src/test/resources/dev/fusebox/converter/tree/goldens").normalize();
    }

    private static String golden(String layout, String name) throws IOException {
        return Files.readString(goldens().resolve(layout).resolve(name + ".txt"));
    }

    /** A checkpoint of the golden's config.json and state-dict shapes, its float32 bytes zeros. */
    private Path checkpoint(String layout, String name) throws IOException {
        JsonNode g = JSON.readTree(goldens().resolve(layout).resolve(name + ".json").toFile());
        Path dir = Files.createDirectories(temp.resolve(layout + "-" + name));
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(g.get("config")));
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, JsonNode> e : g.get("tensors").properties()) {
            long bytes = 4;
            for (JsonNode d : e.getValue()) {
                bytes *= d.asLong();
            }
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            t.set("shape", e.getValue());
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        ByteBuffer start = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length);
        try (FileChannel out = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            out.write(start.flip());
            out.write(ByteBuffer.wrap(json));
            out.write(ByteBuffer.allocate(Math.toIntExact(offset)));
        }
        return dir;
    }
}
