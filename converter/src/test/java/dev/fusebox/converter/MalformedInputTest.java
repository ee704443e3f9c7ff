package dev.fusebox.converter;

import dev.fusebox.converter.checkpoint.Checkpoint;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Opening each malformed input of the corpus fails with its problem, a message naming the file and the words. */
class MalformedInputTest {

    @TempDir
    static Path root;

    private static List<MalformedCorpus.Case> corpus;

    static Stream<MalformedCorpus.Case> corpus() {
        if (corpus == null) {
            corpus = MalformedCorpus.write(root);
        }
        return corpus.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void openingAMalformedInputFailsWithItsProblemNamed(MalformedCorpus.Case c) {
        assertThatThrownBy(() -> Checkpoint.open(c.path()).close())
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(c.problem());
                    assertThat(e.getMessage()).startsWith(c.path().getParent().toString()).contains(c.words());
                });
    }
}
