package dev.fusebox.converter.rules;

import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.fusebox.converter.FuseboxException;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes rule files: each input is read as a --rules file and, when it reads, its rules are run both ways over a
 * few keys and asked to guess a family. Every input either works or fails with a FuseboxException, or, for a
 * pattern that runs away on a key, a RunawayPatternException (which the CLI reports in one sentence).
 */
class RuleFileFuzzTest {

    private static final List<String> KEYS = List.of("model.layers.0.block_sparse_moe.experts.3.w1.weight",
            "model.layers.10.mlp.experts.gate_up_proj", "model.embed_tokens.weight", "lm_head.weight",
            "model.layers.1.mlp.shared_expert.gate_proj.weight", "x".repeat(300) + ".layers.0.norm.weight");

    @TempDir
    static Path root;

    @FuzzTest(maxDuration = "5m")
    @DictionaryFile(resourcePath = "rules.dict")
    void everyRuleFileReadsOrIsRefusedWithAFuseboxException(byte[] input) throws Exception {
        Path file = root.resolve("rules.json");
        Files.write(file, input);
        try {
            RuleBook book = RuleBook.bundled().withFiles(List.of(file));
            RuleSet set = book.ruleSets().getLast();
            for (Direction d : Direction.values()) {
                DirectedRules rules = set.toward(d);
                for (String k : KEYS) {
                    rules.converterFor(file, k);
                    rules.rename(k);
                }
            }
            book.guess(KEYS);
        } catch (FuseboxException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        } catch (RunawayPatternException expected) {
            assertThat(expected.getMessage()).containsAnyOf("gave up", "ran out of stack");
        }
    }
}
