package dev.fusebox.converter.cli;

import dev.fusebox.converter.MixtralShapes;
import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.tensor.Dtype;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * `fusebox convert` in a process of its own, killed (SIGKILL) or interrupted (SIGTERM, as Ctrl-C) while it writes:
 * the input is unchanged and nothing exists under the output's name. A kill leaves {@code OUT.partial}, which a new
 * conversion refuses to reuse unless forced; an interrupt removes it.
 */
class KilledConversionTest {

    /** About 100 MB of expert weights in four layers, so the conversion is still writing when it is stopped. */
    static final MixtralShapes SHAPES = new MixtralShapes(256, 1024, 8, 4, 4, 2, 1024);

    @TempDir
    static Path dir;

    static Path input;
    static String inputDigest;

    @BeforeAll
    static void writeALegacyCheckpoint() throws Exception {
        input = TestCheckpoints.write(dir.resolve("legacy"), "mixtral", Map.of("hidden_size", 256,
                "intermediate_size", 1024, "num_local_experts", 8, "num_experts_per_tok", 2, "num_hidden_layers", 4,
                "num_attention_heads", 4, "num_key_value_heads", 2, "vocab_size", 1024), SHAPES.legacy(Dtype.F32));
        inputDigest = digest(input);
    }

    static String digest(Path d) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (Stream<Path> files = Files.list(d)) {
            for (Path f : files.sorted().toList()) {
                md.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                md.update(Files.readAllBytes(f));
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static Process convert(Path out, String... more) throws Exception {
        List<String> cp = new ArrayList<>();
        for (String property : List.of("jdk.module.path", "java.class.path")) {
            String v = System.getProperty(property);
            if (v != null && !v.isEmpty()) {
                cp.add(v);
            }
        }
        cp.add(Path.of(CliMain.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "-cp", String.join(File.pathSeparator, cp), CliMain.class.getName(),
                "convert", input.toString(), out.toString(), "--max-shard-size", "20MB"));
        command.addAll(List.of(more));
        return new ProcessBuilder(command).redirectOutput(dir.resolve("stdout.txt").toFile())
                .redirectError(dir.resolve("stderr.txt").toFile()).start();
    }

    /** Waits until the process has written tensor bytes into {@code OUT.partial}, or has ended. */
    static void awaitWriting(Process p, Path out) throws IOException {
        Path partial = out.resolveSibling(out.getFileName() + ".partial");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (p.isAlive() && System.nanoTime() < deadline) {
            if (Files.isDirectory(partial)) {
                try (Stream<Path> files = Files.list(partial)) {
                    if (files.anyMatch(f -> f.toFile().length() > 1 << 20)) {
                        return;
                    }
                }
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
        }
    }

    static int end(Process p) throws InterruptedException {
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }

    @Test
    void aKilledConversionLeavesNothingUnderTheOutputNameAndTheInputUnchanged() throws Exception {
        Path out = dir.resolve("v5-killed");
        Process p = convert(out);
        awaitWriting(p, out);
        assertThat(p.isAlive()).as("the conversion is still running when it is killed").isTrue();
        p.destroyForcibly();
        assertThat(end(p)).isNotZero();
        assertThat(out).doesNotExist();
        assertThat(digest(input)).isEqualTo(inputDigest);

        Process again = convert(out);
        assertThat(end(again)).isEqualTo(Cli.BAD_INPUT);
        assertThat(Files.readString(dir.resolve("stderr.txt"))).contains(".partial", "--force");
        assertThat(out).doesNotExist();

        Process forced = convert(out, "--force");
        assertThat(end(forced)).as(Files.readString(dir.resolve("stderr.txt"))).isZero();
        try (Checkpoint converted = Checkpoint.open(out)) {
            assertThat(converted.layout()).isEqualTo(Layout.V5);
            assertThat(converted.specs()).containsExactlyInAnyOrderElementsOf(SHAPES.v5(Dtype.F32));
        }
        assertThat(out.resolveSibling("v5-killed.partial")).doesNotExist();
        assertThat(digest(input)).isEqualTo(inputDigest);
    }

    @Test
    void anInterruptedConversionRemovesWhatItWrote() throws Exception {
        Path out = dir.resolve("v5-interrupted");
        Process p = convert(out);
        awaitWriting(p, out);
        assertThat(p.isAlive()).as("the conversion is still running when it is interrupted").isTrue();
        p.destroy();
        assertThat(end(p)).isNotZero();
        assertThat(out).doesNotExist();
        assertThat(out.resolveSibling("v5-interrupted.partial")).doesNotExist();
        assertThat(digest(input)).isEqualTo(inputDigest);
    }
}
