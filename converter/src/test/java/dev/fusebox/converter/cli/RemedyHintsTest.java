package dev.fusebox.converter.cli;

import dev.fusebox.converter.forward.Verifier;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * The engine's sentence names no flag; the command line adds the option that answers it, in parentheses before
 * the full stop. Each case runs a real refusal and checks the line is exactly the engine's words plus that hint.
 */
class RemedyHintsTest {

    private static final String BASE = Fixtures.tiny("legacy-base").toString();
    private static final String ADAPTER = Fixtures.tiny("legacy-lora-experts_gate").toString();
    private static final String V5 = Fixtures.tiny("v5-base.float32.safetensors").toString();

    @TempDir
    static Path dir;

    static Stream<Arguments> refusals() {
        String many = String.join(",", IntStream.rangeClosed(1, Verifier.MOST_TOKENS + 1).mapToObj(
                Integer::toString).toList());
        return Stream.of(
                arguments(List.of("verify", BASE, "--converted", V5, "--tokens", many), BASE + ": is to be "
                        + "verified on 257 tokens, but a check runs at most 256; give fewer tokens", " (--tokens)"),
                arguments(List.of("verify", BASE, "--layers", "9"), BASE + ": has 2 layers, so the layers to run "
                        + "must be between 1 and 2", " (--layers N)"),
                arguments(List.of("convert", ADAPTER, "OUT", "--dequantize"), "dequantizing applies to a model's "
                        + "own conversion, not to an adapter or a merge", " (--dequantize)"),
                arguments(List.of("convert", BASE, "OUT", "--base", BASE), "a base model applies to adapter "
                        + "conversions; the input is a model", " (--base DIR)"),
                arguments(List.of("convert", BASE, "OUT", "--merge-adapter", ADAPTER, "--dtype", "float64"),
                        "a factor dtype applies to adapter conversions; a merged model keeps its base dtype",
                        " (--dtype)"),
                arguments(List.of("convert", ADAPTER, "OUT", "--merge-adapter", ADAPTER), ADAPTER + ": is an "
                        + "adapter; merging puts an adapter into a base model", " (--merge-adapter)"),
                arguments(List.of("convert", BASE, "EXISTING"), "EXISTING: already exists; choose another output "
                        + "or ask to replace it", " (--force replaces it)"));
    }

    @ParameterizedTest(name = "{2}")
    @MethodSource("refusals")
    void theCommandLineAddsTheFlagToTheEnginesFlagFreeSentence(List<String> args, String engine, String hint)
            throws Exception {
        Path existing = Files.createDirectories(dir.resolve("existing"));
        List<String> resolved = new ArrayList<>();
        for (String a : args) {
            resolved.add(a.equals("OUT") ? dir.resolve("out").toString()
                    : a.equals("EXISTING") ? existing.toString() : a);
        }
        String sentence = engine.replace("EXISTING", existing.toString());
        CliRun run = CliRun.of(resolved.toArray(String[]::new));
        assertThat(run.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(sentence).doesNotContain("--");
        assertThat(run.errLines()).containsExactly("fusebox: " + sentence + hint + ".");
    }
}
