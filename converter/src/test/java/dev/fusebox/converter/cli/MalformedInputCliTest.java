package dev.fusebox.converter.cli;

import dev.fusebox.converter.MalformedCorpus;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every malformed input of the corpus, given to inspect and convert: exit 2 and one clear sentence, no stack trace,
 * nothing written.
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
