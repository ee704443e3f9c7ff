package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.convert.CheckpointDiff;
import dev.fusebox.converter.forward.Verifier;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The second corpus of hostile inputs (issue 16), each generated from the tiny Mixtral and LoRA that transformers and
 * PEFT wrote: patterns that run away, keys thousands of dots deep, too many tokens, adapters whose alpha would fill a
 * merged model with NaN, a pipe for adapter_config.json, expert numbers with leading zeros, LoRA for a layer the base
 * lacks, names holding terminal escapes. Each is refused by the CLI with exit 2 and one escaped line on stderr, and
 * its folder (inputs and the output's place) is byte for byte as it was: nothing changed, deleted or left behind,
 * and no temporary verify folder survives.
 */
class HostileInputCorpusTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path BASE = Fixtures.tiny("legacy-base");
    private static final Path LORA = Fixtures.tiny("legacy-lora-attn_experts");
    private static final String Q_PROJ = "base_model.model.model.layers.0.self_attn.q_proj";

    @TempDir
    static Path root;

    /** One hostile input: the folder it lives in, the command run on it, and what its refusal says. */
    record Case(String name, Path folder, List<String> args, List<String> words) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() throws Exception {
        List<Case> out = new ArrayList<>();

        Path runaway = folder("rank-pattern-backtracks");
        config(lora(runaway), c -> c.putObject("rank_pattern").put("(.*.*.*.*.*)*q", 8));
        out.add(adapterConversion("rank_pattern (.*.*.*.*.*)*q", runaway, "'(.*.*.*.*.*)*q'", "gave up on the key"));

        Path deep = folder("rank-pattern-recurses");
        Path deepLora = lora(deep);
        config(deepLora, c -> c.putObject("alpha_pattern").put("(x|y)*", 16));
        String longModule = "base_model.model.model.layers.0.self_attn." + "x".repeat(20_000);
        rewrite(deepLora.resolve("adapter_model.safetensors"), k -> k, Map.of(
                longModule + ".lora_A.weight", Q_PROJ + ".lora_A.weight",
                longModule + ".lora_B.weight", Q_PROJ + ".lora_B.weight"));
        // Without a base, so that the pattern is what meets the key (a base would refuse the module first).
        out.add(new Case("alpha_pattern (x|y)* on a 20 000-character key", deep, List.of("convert",
                deepLora.toString(), deep.resolve("out").toString()), List.of("'(x|y)*'", "ran out of stack")));

        Path tokens = folder("too-many-tokens");
        String many = String.join(",", Collections.nCopies(Verifier.MOST_TOKENS + 1, "1"));
        out.add(new Case("--tokens past the bound", tokens, List.of("verify", base(tokens).toString(), "--tokens",
                many), List.of("at most " + Verifier.MOST_TOKENS)));

        Path nan = folder("merge-alpha-nan");
        config(lora(nan), c -> c.put("lora_alpha", Double.NaN));
        out.add(merge("--merge-adapter with lora_alpha NaN", nan, "scale NaN"));

        Path huge = folder("merge-alpha-1e308");
        config(lora(huge), c -> c.put("lora_alpha", 1e308));
        out.add(merge("--merge-adapter with lora_alpha 1e308", huge, "too large to merge"));

        Path fifo = folder("adapter-config-fifo");
        Path fifoLora = lora(fifo);
        Files.delete(fifoLora.resolve("adapter_config.json"));
        if (new ProcessBuilder("mkfifo", fifoLora.resolve("adapter_config.json").toString()).start().waitFor() == 0) {
            out.add(new Case("adapter_config.json a FIFO", fifo, List.of("convert", fifoLora.toString(),
                    fifo.resolve("out").toString()), List.of("not a regular file")));
        }

        Path padded = folder("expert-number-01");
        rewrite(base(padded).resolve("model.safetensors"), k -> k.replace(".experts.1.", ".experts.01."), Map.of());
        out.add(new Case("expert numbered 01", padded, List.of("convert", base(padded).toString(),
                padded.resolve("out").toString()), List.of("leading zero")));

        Path layer99 = folder("lora-for-layer-99");
        Path layer99Lora = lora(layer99);
        Map<String, String> copies = new LinkedHashMap<>();
        for (String f : List.of(".lora_A.weight", ".lora_B.weight")) {
            copies.put(Q_PROJ.replace(".layers.0.", ".layers.99.") + f, Q_PROJ + f);
        }
        rewrite(layer99Lora.resolve("adapter_model.safetensors"), k -> k, copies);
        out.add(adapterConversion("LoRA for layer 99 of a 2-layer base", layer99, "layers.99", "does not have"));

        Path escapes = folder("escape-sequences-in-a-key");
        rewrite(base(escapes).resolve("model.safetensors"), k -> k.equals(
                "model.layers.1.block_sparse_moe.experts.1.w2.weight")
                ? "\u001b]0;owned\u0007\u001b[2J\nmodel.layers.1.block_sparse_moe.experts.01.w2.weight" : k, Map.of());
        out.add(new Case("a key with terminal escapes and a newline", escapes, List.of("convert",
                base(escapes).toString(), escapes.resolve("out").toString()),
                List.of("'\\x1b]0;owned\\x07\\x1b[2J\\nmodel.")));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void eachIsRefusedInOneEscapedSentenceAndTouchesNothing(Case c) throws Exception {
        Map<String, String> before = snapshot(c.folder);
        List<Path> temporaryBefore = temporaryFolders();
        CliRun run = CliRun.of(c.args.toArray(String[]::new));
        assertThat(run.exitCode()).as(run.err()).isEqualTo(Cli.BAD_INPUT);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).startsWith("fusebox: ").contains(c.words).doesNotContain("Exception", "\tat ", "\u001b");
        assertThat(run.out()).isEmpty();
        assertThat(snapshot(c.folder)).isEqualTo(before);
        assertThat(temporaryFolders()).isEqualTo(temporaryBefore);
    }

    @Test
    void verifyOnANaNRmsNormEpsSaysBothLayoutsHoldNaNAndLeavesNoTemporaryFolder() throws Exception {
        Path nan = folder("rms-norm-eps-nan");
        Path config = base(nan).resolve("config.json");
        ObjectNode c = (ObjectNode) JSON.readTree(config.toFile());
        c.put("rms_norm_eps", Double.NaN);
        Files.writeString(config, JSON.writeValueAsString(c).replace("\"NaN\"", "NaN"));
        Map<String, String> before = snapshot(nan);
        List<Path> temporaryBefore = temporaryFolders();
        CliRun run = CliRun.of("verify", base(nan).toString());
        assertThat(run.exitCode()).as(run.err()).isEqualTo(Cli.CHECK_FAILED);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).contains("layer 0's output holds NaN in both layouts").doesNotContain("Infinity");
        assertThat(snapshot(nan)).isEqualTo(before);
        assertThat(temporaryFolders()).isEqualTo(temporaryBefore);
    }

    @Test
    void aDiffWhoseFirstSideShrinksWhileReadBlamesThatSideNotTheOther() throws Exception {
        Path shrunk = folder("diff-a-shrinks");
        Path other = base(folder("diff-b"));
        Path weights = base(shrunk).resolve("model.safetensors");
        try (Checkpoint a = Checkpoint.open(base(shrunk)); Checkpoint b = Checkpoint.open(other)) {
            try (FileChannel ch = FileChannel.open(weights, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() / 2);
            }
            assertThatThrownBy(() -> CheckpointDiff.compare(a, b, true, Cancellation.NEVER))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.file()).contains(weights.toAbsolutePath());
                        assertThat(e.getMessage()).contains("changed while being read");
                    });
        }
    }

    @Test
    void aKeyOfTwentyThousandDotsIsInspectedAsAShallowTree() throws Exception {
        Path dots = folder("key-of-20000-dots");
        String key = String.join(".", Collections.nCopies(20_000, "a")) + ".weight";
        rewrite(base(dots).resolve("model.safetensors"), k -> k, Map.of(key, "model.norm.weight"));
        CliRun run = CliRun.of("inspect", base(dots).toString());
        assertThat(run.exitCode()).as(run.err()).isEqualTo(Cli.OK);
        // The stray key is no module transformers has: the tree keeps transformers' classes for the rest, says it is
        // partly from the keys, and stays shallow.
        assertThat(run.out()).contains("the rest from the keys", "MixtralForCausalLM(", "(a): ");
        assertThat(run.out().lines().count()).isLessThan(200);
    }

    @Test
    void inspectAndPlanPrintKeysWithTheirControlCharactersEscaped() throws Exception {
        Path escapes = folder("escapes-listed");
        rewrite(base(escapes).resolve("model.safetensors"), k -> k.equals("model.norm.weight")
                ? "model.norm\u001b[2J\r\n\u202e.weight" : k, Map.of());
        for (List<String> args : List.of(List.of("inspect", "--tensors"), List.of("plan"))) {
            List<String> all = new ArrayList<>(args);
            all.add(base(escapes).toString());
            CliRun run = CliRun.of(all.toArray(String[]::new));
            assertThat(run.exitCode()).as(run.err()).isEqualTo(Cli.OK);
            assertThat(run.out()).as(args.getFirst()).doesNotContain("\u001b", "\r", "\u202e")
                    .contains("model.norm\\x1b[2J\\r\\n\\u202e.weight");
        }
    }

    private static Case adapterConversion(String name, Path folder, String... words) {
        return new Case(name, folder, List.of("convert", folder.resolve("lora").toString(),
                folder.resolve("out").toString(), "--base", base(folder).toString()), List.of(words));
    }

    private static Case merge(String name, Path folder, String words) {
        return new Case(name, folder, List.of("convert", base(folder).toString(), folder.resolve("out").toString(),
                "--merge-adapter", folder.resolve("lora").toString()), List.of(words));
    }

    private static Path folder(String name) throws IOException {
        Path f = Files.createDirectory(root.resolve(name));
        copyTree(BASE, f.resolve("base"));
        return f;
    }

    private static Path base(Path folder) {
        return folder.resolve("base");
    }

    private static Path lora(Path folder) throws IOException {
        Path l = folder.resolve("lora");
        copyTree(LORA, l);
        return l;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectory(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path p : files.toList()) {
                Files.copy(p, to.resolve(p.getFileName().toString()));
            }
        }
    }

    private static void config(Path adapter, java.util.function.Consumer<ObjectNode> change) throws IOException {
        Path file = adapter.resolve("adapter_config.json");
        ObjectNode c = (ObjectNode) JSON.readTree(file.toFile());
        change.accept(c);
        // Python's json.dump writes NaN and Infinity bare, as PEFT's save_pretrained would.
        Files.writeString(file, JSON.writeValueAsString(c).replace("\"NaN\"", "NaN"));
    }

    /** Rewrites a safetensors file with its keys renamed and, appended, copies of tensors under new keys. */
    private static void rewrite(Path file, UnaryOperator<String> rename, Map<String, String> copies)
            throws IOException {
        byte[] all = Files.readAllBytes(file);
        int n = Math.toIntExact(ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
        ObjectNode header = (ObjectNode) JSON.readTree(new String(all, 8, n, StandardCharsets.UTF_8));
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        data.write(all, 8 + n, all.length - 8 - n);
        ObjectNode out = JSON.createObjectNode();
        for (Map.Entry<String, JsonNode> e : header.properties()) {
            out.set(e.getKey().equals("__metadata__") ? e.getKey() : rename.apply(e.getKey()), e.getValue());
        }
        for (Map.Entry<String, String> c : copies.entrySet()) {
            ObjectNode source = (ObjectNode) header.get(c.getValue());
            long from = source.get("data_offsets").get(0).asLong();
            long to = source.get("data_offsets").get(1).asLong();
            ObjectNode copy = source.deepCopy();
            copy.putArray("data_offsets").add(data.size()).add(data.size() + to - from);
            data.write(all, Math.toIntExact(8 + n + from), Math.toIntExact(to - from));
            out.set(c.getKey(), copy);
        }
        byte[] h = JSON.writeValueAsBytes(out);
        byte[] padded = Arrays.copyOf(h, (h.length + 7) / 8 * 8);
        Arrays.fill(padded, h.length, padded.length, (byte) ' ');
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded.length);
        ByteArrayOutputStream whole = new ByteArrayOutputStream();
        whole.write(length.array());
        whole.write(padded);
        data.writeTo(whole);
        Files.write(file, whole.toByteArray());
    }

    /** Every entry under {@code folder}: a regular file's CRC and size, or what else it is. */
    private static Map<String, String> snapshot(Path folder) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(folder)) {
            for (Path p : all.toList()) {
                String name = folder.relativize(p).toString();
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    CRC32 crc = new CRC32();
                    byte[] bytes = Files.readAllBytes(p);
                    crc.update(bytes);
                    out.put(name, bytes.length + " " + crc.getValue());
                } else {
                    out.put(name, Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "folder" : "other");
                }
            }
        }
        return out;
    }

    private static List<Path> temporaryFolders() throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("fusebox-verify-" + ProcessHandle.current()
                    .pid() + "-")).sorted().toList();
        }
    }
}
