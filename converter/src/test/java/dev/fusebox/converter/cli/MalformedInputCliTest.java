package dev.fusebox.converter.cli;

import dev.fusebox.converter.MalformedCorpus;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every malformed input of the corpus, given to inspect and convert, and broken rule files given to convert: exit 2
 * and one clear sentence, no stack trace, nothing written.
 */
class MalformedInputCliTest {

    @TempDir
    static Path root;

    private static List<MalformedCorpus.Case> corpus;

    static Stream<MalformedCorpus.Case> corpus() {
        if (corpus == null) {
            corpus = MalformedCorpus.write(root.resolve("in"));
        }
        return corpus.stream();
    }

    /** Broken rule files, given to convert with --rules: name, file, words of the message. */
    static Stream<Arguments> ruleFiles() throws Exception {
        Path d = Files.createDirectories(root.resolve("rules"));
        String family = "{\"family\": \"x\", \"model_types\": [\"x\"], ";
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("unknown-field.json", (family + "\"renamings\": [{\"from\": \"a\", \"too\": \"b\"}]}").getBytes(StandardCharsets.UTF_8));
        files.put("bad-regex.json", (family + "\"renamings\": [{\"from\": \"(\", \"to\": \"b\"}]}").getBytes(StandardCharsets.UTF_8));
        files.put("not-json.json", "{\"family\": ".getBytes(StandardCharsets.UTF_8));
        files.put("array.json", "[1, 2]".getBytes(StandardCharsets.UTF_8));
        files.put("latin1.json", new byte[] {'{', '"', (byte) 0xE9, '"', ':', '1', '}'});
        files.put("huge.json", new byte[RuleBook.MAX_RULE_FILE_BYTES + 1]);
        List<Arguments> out = new ArrayList<>();
        List<String> words = List.of("renamings[0] has the unknown field 'too'", "not a valid regular expression",
                "is not valid JSON", "is not a JSON object", "is not valid UTF-8 text", "byte limit for a rule file");
        int i = 0;
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            Path f = Files.write(d.resolve(e.getKey()), e.getValue());
            out.add(Arguments.of(e.getKey(), f, words.get(i++)));
        }
        Files.createDirectories(d.resolve("a-directory.json"));
        out.add(Arguments.of("a directory", d.resolve("a-directory.json"), "is not a regular file"));
        out.add(Arguments.of("a device", Path.of("/dev/zero"), "is not a regular file"));
        out.add(Arguments.of("a missing file", d.resolve("missing.json"), "does not exist"));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ruleFiles")
    void convertRefusesABrokenRuleFileInOneSentence(String name, Path rules, String words) throws Exception {
        Path out = Files.createDirectories(root.resolve("out-rules")).resolve("converted");
        CliRun run = CliRun.of("convert", Fixtures.tiny("legacy-base").toString(), out.toString(), "--rules",
                rules.toString());
        assertThat(run.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).startsWith("fusebox: " + rules).contains(words).doesNotContain("Exception");
        try (Stream<Path> written = Files.list(root.resolve("out-rules"))) {
            assertThat(written).isEmpty();
        }
    }

    static void assertOneSentence(CliRun run, MalformedCorpus.Case c) {
        assertThat(run.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).startsWith("fusebox: ").contains(c.words()).doesNotContain("Exception", "\tat ");
        assertThat(run.out()).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void inspectRefusesEachMalformedInputInOneSentence(MalformedCorpus.Case c) {
        assertOneSentence(CliRun.of("inspect", c.path().toString()), c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void inspectJsonRefusesThemTooWithoutPrintingHalfAnObject(MalformedCorpus.Case c) {
        assertOneSentence(CliRun.of("inspect", "--json", c.path().toString()), c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void convertRefusesEachMalformedInputAndWritesNothing(MalformedCorpus.Case c) throws Exception {
        Path out = Files.createDirectories(root.resolve("out")).resolve("converted");
        assertOneSentence(CliRun.of("convert", c.path().toString(), out.toString()), c);
        try (Stream<Path> written = Files.list(root.resolve("out"))) {
            assertThat(written).isEmpty();
        }
    }
}
