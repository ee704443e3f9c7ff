package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The one rule for links, for every kind of file a checkpoint has: a link out of the folder is refused in one
 * sentence naming it and where it leads, and nothing of the file it leads to — a bait holding a secret — reaches any
 * output; a pipe, directory or link loop where a file belongs is refused as what it is, never read.
 */
class LinkRuleCliTest {

    private static final String SECRET = "BAIT-SECRET-6c1f0e";

    @TempDir
    Path tmp;

    Path bait;

    /** Outside every checkpoint: files of each kind whose content, if read, would carry the secret into output. */
    @BeforeEach
    void baits() throws Exception {
        bait = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(bait.resolve("config.json"), Files.readString(Fixtures.tiny("legacy-base/config.json"))
                .replace("\"model_type\"", "\"token\": \"" + SECRET + "\",\n \"model_type\""));
        TestCheckpoints.writeSafetensors(bait.resolve("weights.safetensors"),
                List.of(TestCheckpoints.f32(SECRET + ".weight", 2)));
        Files.writeString(bait.resolve("adapter_config.json"), Files.readString(
                Fixtures.tiny("legacy-lora-experts_gate/adapter_config.json")).replace("legacy-base", SECRET));
        Files.writeString(bait.resolve("tokenizer.json"), "{\"secret\": \"" + SECRET + "\"}");
        Files.writeString(bait.resolve("index.json"), "{\"weight_map\": {\"" + SECRET + "\": \"model.safetensors\"}}");
        Files.copy(torchzip("legacy-base.pytorch_model.bin"), bait.resolve("weights.bin"));
    }

    private Path model(String name) throws IOException {
        Path dir = Files.createDirectory(tmp.resolve(name));
        Files.copy(Fixtures.tiny("legacy-base/config.json"), dir.resolve("config.json"));
        Files.copy(Fixtures.tiny("legacy-base/model.safetensors"), dir.resolve("model.safetensors"));
        return dir;
    }

    private Path adapter(String name) throws IOException {
        Path dir = Files.createDirectory(tmp.resolve(name));
        Path source = Fixtures.tiny("legacy-lora-experts_gate");
        Files.copy(source.resolve("adapter_config.json"), dir.resolve("adapter_config.json"));
        Files.copy(source.resolve("adapter_model.safetensors"), dir.resolve("adapter_model.safetensors"));
        return dir;
    }

    /** Replaces {@code dir/name} (or adds it) by a link to {@code target}. */
    private static Path link(Path dir, String name, Path target) throws IOException {
        Files.deleteIfExists(dir.resolve(name));
        return Files.createSymbolicLink(dir.resolve(name), target);
    }

    @Test
    void aLoneWeightFileLinkingOutIsRefused() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("lone"));
        Path file = link(dir, "model.safetensors", bait.resolve("weights.safetensors"));
        assertRefusedEverywhere(file, file, bait.resolve("weights.safetensors"));
    }

    @Test
    void aWeightFileLinkingOutOfItsFolderIsRefused() throws Exception {
        Path dir = model("weights");
        Path link = link(dir, "model.safetensors", bait.resolve("weights.safetensors"));
        assertRefusedEverywhere(dir, link, bait.resolve("weights.safetensors"));
    }

    @Test
    void aRelativeLinkClimbingOutIsRefusedToo() throws Exception {
        Path dir = model("relative");
        Path link = link(dir, "model.safetensors", Path.of("..", "outside", "weights.safetensors"));
        assertRefusedEverywhere(dir, link, bait.resolve("weights.safetensors"));
    }

    @Test
    void aShardTheIndexNamesLinkingOutIsRefused() throws Exception {
        Path dir = model("sharded");
        Files.move(dir.resolve("model.safetensors"), bait.resolve("model-00001-of-00001.safetensors"));
        Path link = link(dir, "model-00001-of-00001.safetensors", bait.resolve("model-00001-of-00001.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), index("model-00001-of-00001.safetensors"));
        assertRefusedEverywhere(dir, link, bait.resolve("model-00001-of-00001.safetensors"));
    }

    @Test
    void anIndexLinkingOutIsRefused() throws Exception {
        Path dir = model("index");
        Path link = link(dir, "model.safetensors.index.json", bait.resolve("index.json"));
        assertRefusedEverywhere(dir, link, bait.resolve("index.json"));
    }

    @Test
    void aConfigLinkingOutIsRefused() throws Exception {
        Path dir = model("config");
        Path link = link(dir, "config.json", bait.resolve("config.json"));
        assertRefusedEverywhere(dir, link, bait.resolve("config.json"));
        assertRefusedEverywhere(dir.resolve("model.safetensors"), link, bait.resolve("config.json"));
    }

    @Test
    void anAdapterConfigLinkingOutIsRefused() throws Exception {
        Path dir = adapter("adapter-config");
        Path link = link(dir, "adapter_config.json", bait.resolve("adapter_config.json"));
        assertRefusedEverywhere(dir, link, bait.resolve("adapter_config.json"));
    }

    @Test
    void anAdapterWeightFileLinkingOutIsRefused() throws Exception {
        Path dir = adapter("adapter-weights");
        Path link = link(dir, "adapter_model.safetensors", bait.resolve("weights.safetensors"));
        assertRefusedEverywhere(dir, link, bait.resolve("weights.safetensors"));
    }

    @Test
    void aTokenizerLinkingOutIsRefusedBeforeAnythingIsWritten() throws Exception {
        Path dir = model("tokenizer");
        Path link = link(dir, "tokenizer.json", bait.resolve("tokenizer.json"));
        assertRefusedEverywhere(dir, link, bait.resolve("tokenizer.json"));
    }

    @Test
    void aTorchFileLinkingOutIsRefused() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("bin"));
        Files.copy(Fixtures.tiny("legacy-base/config.json"), dir.resolve("config.json"));
        Path link = link(dir, "pytorch_model.bin", bait.resolve("weights.bin"));
        assertRefusedEverywhere(dir, link, bait.resolve("weights.bin"));
        assertRefusedEverywhere(link, link, bait.resolve("weights.bin"));
    }

    @Test
    void aLinkToADeviceIsRefusedAsALinkOut() throws Exception {
        Path dir = model("device");
        Path link = link(dir, "model.safetensors", Path.of("/dev/zero"));
        assertRefusedEverywhere(dir, link, Path.of("/dev/zero"));
    }

    @Test
    void aLinkThatStaysInsideTheFolderIsFollowed() throws Exception {
        Path dir = model("inside");
        Files.createDirectory(dir.resolve("store"));
        Files.move(dir.resolve("model.safetensors"), dir.resolve("store").resolve("0a1b2c"));
        link(dir, "model.safetensors", Path.of("store", "0a1b2c"));
        CliRun run = CliRun.of("inspect", "--json", dir.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(JsonMapper.builder().build().readTree(run.out()).get("layout").asText()).isEqualTo("legacy");
    }

    @Test
    void aPipeNamedLikeAWeightFileIsNamedAsAPipeAndNeverOpened() throws Exception {
        Path dir = model("fifo");
        Files.delete(dir.resolve("model.safetensors"));
        Path fifo = mkfifo(dir.resolve("model.safetensors"));
        assertNotAFile(dir, fifo + ": is a named pipe (FIFO), not a regular file; Fusebox reads only regular files");
        assertNotAFile(fifo, fifo + ": is a named pipe (FIFO), not a regular file; Fusebox reads only regular files");
    }

    @Test
    void aDirectoryNamedLikeAWeightFileIsNamedAsADirectory() throws Exception {
        Path dir = model("directory");
        Files.delete(dir.resolve("model.safetensors"));
        Path sub = Files.createDirectory(dir.resolve("model.safetensors"));
        assertNotAFile(dir, sub + ": is a directory, not a regular file; Fusebox reads only regular files");
    }

    @Test
    void aLinkLoopNamedLikeAWeightFileIsNamedAsALoop() throws Exception {
        Path dir = model("loop");
        link(dir, "model.safetensors", Path.of("other.safetensors"));
        link(dir, "other.safetensors", Path.of("model.safetensors"));
        assertNotAFile(dir, dir.resolve("model.safetensors") + ": is a link loop (model.safetensors → "
                + "other.safetensors → model.safetensors), not a regular file; Fusebox reads only regular files");
    }

    @Test
    void aPipeNamedLikeAConfigIsRefusedNotSkipped() throws Exception {
        Path dir = model("fifo-config");
        Files.delete(dir.resolve("config.json"));
        Path fifo = mkfifo(dir.resolve("config.json"));
        assertNotAFile(dir, fifo + ": is a named pipe (FIFO)");
    }

    @Test
    void anAdapterFolderWhoseConfigIsAPipeIsNotTakenForAModel() throws Exception {
        Path dir = adapter("fifo-adapter");
        Files.delete(dir.resolve("adapter_config.json"));
        Path fifo = mkfifo(dir.resolve("adapter_config.json"));
        assertNotAFile(dir, fifo + ": is a named pipe (FIFO)");
    }

    @Test
    void dotSlashAndTheBareNameInAnIndexAreOneShard() throws Exception {
        Path dir = model("dot-slash");
        Files.move(dir.resolve("model.safetensors"), dir.resolve("model-00001-of-00001.safetensors"));
        String index = index("model-00001-of-00001.safetensors");
        int first = index.indexOf("model-00001-of-00001.safetensors");
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                index.substring(0, first) + "./" + index.substring(first));
        assertThat(Files.readString(dir.resolve("model.safetensors.index.json")))
                .contains("\"./model-00001-of-00001.safetensors\"", "\"model-00001-of-00001.safetensors\"");
        CliRun run = CliRun.of("inspect", "--json", dir.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode files = JsonMapper.builder().build().readTree(run.out()).get("files");
        assertThat(files).hasSize(1);
        assertThat(CliRun.of("convert", dir.toString(), tmp.resolve("dot-slash-v5").toString()).exitCode()).isZero();
    }

    /** An index placing every tensor of the tiny base in {@code shard}. */
    private static String index(String shard) throws Exception {
        CliRun run = CliRun.of("inspect", "--json", Fixtures.tiny("legacy-base").toString());
        StringBuilder json = new StringBuilder("{\"weight_map\": {");
        String sep = "";
        for (JsonNode t : JsonMapper.builder().build().readTree(run.out()).get("tensors")) {
            json.append(sep).append('"').append(t.get("key").asText()).append("\": \"").append(shard).append('"');
            sep = ", ";
        }
        return json.append("}}").toString();
    }

    /** inspect (text and JSON), plan and convert each refuse {@code input} naming the link, and leak nothing. */
    private void assertRefusedEverywhere(Path input, Path link, Path target) throws Exception {
        String sentence = "fusebox: " + link + ": is a link to " + target.toRealPath() + ", outside the checkpoint "
                + "folder; Fusebox follows links only within it (copy the file into the folder to use it).";
        Path out = tmp.resolve("out-" + input.getFileName());
        for (CliRun run : List.of(CliRun.of("inspect", input.toString()), CliRun.of("inspect", "--json",
                input.toString()), CliRun.of("plan", input.toString()), CliRun.of("diff", input.toString(),
                Fixtures.tiny("legacy-base").toString()), CliRun.of("convert", input.toString(), out.toString()))) {
            assertThat(run.exitCode()).as(run.err()).isEqualTo(Cli.BAD_INPUT);
            assertThat(run.errLines()).containsExactly(sentence.strip());
            assertThat(run.out()).isEmpty();
            assertThat(run.err()).doesNotContain(SECRET);
        }
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left).noneMatch(p -> p.getFileName().toString().startsWith("out-"));
        }
    }

    private void assertNotAFile(Path input, String words) {
        Path out = tmp.resolve("out-" + input.getFileName());
        for (CliRun run : List.of(CliRun.of("inspect", "--json", input.toString()),
                CliRun.of("convert", input.toString(), out.toString()))) {
            assertThat(run.exitCode()).as(run.err()).isEqualTo(Cli.BAD_INPUT);
            assertThat(run.errLines()).hasSize(1);
            assertThat(run.err()).startsWith("fusebox: " + words).doesNotContain("holds no .safetensors file");
            assertThat(run.out()).isEmpty();
        }
        assertThat(out).doesNotExist();
    }

    private static Path mkfifo(Path path) throws Exception {
        Process p = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start();
        assertThat(p.waitFor()).as("mkfifo").isZero();
        return path;
    }

    private static Path torchzip(String name) throws URISyntaxException {
        return Path.of(LinkRuleCliTest.class.getResource("/dev/fusebox/converter/torchzip/" + name).toURI());
    }
}
