package dev.fusebox.converter.cli;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code convert --force} replaces only what Fusebox itself wrote (a folder carrying its marker, an empty folder,
 * a safetensors file); anything else at OUT is refused in one sentence and left exactly as it was.
 */
class ForceOutputTest {

    private static final String BASE = Fixtures.tiny("legacy-base").toString();

    @TempDir
    Path dir;

    private static CliRun forced(String input, Path out) {
        return CliRun.of("convert", input, out.toString(), "--force");
    }

    private static void assertRefused(CliRun run, String... words) {
        assertThat(run.exitCode()).as(run.err()).isEqualTo(Cli.BAD_INPUT);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).contains(words);
    }

    private static List<String> names(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFolderOfSomeoneElsesFilesIsNeverDeleted() throws Exception {
        Path photos = Files.createDirectories(dir.resolve("photos"));
        Files.writeString(photos.resolve("holiday.jpg"), "not really a jpeg");
        Files.createDirectories(photos.resolve("2025"));
        assertRefused(forced(BASE, photos), "did not write", "remove it yourself");
        assertThat(names(photos)).containsExactly("2025", "holiday.jpg");
        assertThat(photos.resolve("holiday.jpg")).hasContent("not really a jpeg");
    }

    @Test
    void aPipeOrALinkToADeviceIsRefusedAndLeftInPlace() throws Exception {
        Path fifo = dir.resolve("out-fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        assertRefused(forced(BASE, fifo), "not a regular file");
        assertThat(Files.isRegularFile(fifo, LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(Files.exists(fifo, LinkOption.NOFOLLOW_LINKS)).isTrue();

        Path link = Files.createSymbolicLink(dir.resolve("out-null"), Path.of("/dev/null"));
        assertRefused(forced(BASE, link), "is a link");
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(Files.isRegularFile(Path.of("/dev/null"))).isFalse();
    }

    @Test
    void aFileThatIsNotACheckpointIsRefused() throws Exception {
        Path notes = Files.writeString(dir.resolve("notes.safetensors"), "my notes, not tensors");
        assertRefused(forced(Fixtures.tiny("legacy-base/model.safetensors").toString(), notes),
                "not a safetensors file");
        assertThat(notes).hasContent("my notes, not tensors");
        Path text = Files.writeString(dir.resolve("out"), "a plain file");
        assertRefused(forced(BASE, text), "not a checkpoint folder");
        assertThat(text).hasContent("a plain file");
    }

    @Test
    void anEarlierConversionAndAnEmptyFolderAreReplaced() throws Exception {
        Path out = dir.resolve("v5");
        assertThat(CliRun.of("convert", BASE, out.toString()).exitCode()).isZero();
        assertThat(names(out)).contains(".fusebox-output", "config.json", "model.safetensors");
        CliRun again = forced(BASE, out);
        assertThat(again.exitCode()).as(again.err()).isZero();
        try (Checkpoint c = Checkpoint.open(out)) {
            assertThat(c.layout()).isEqualTo(Layout.V5);
        }
        assertThat(names(dir)).containsExactly("v5");

        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertThat(forced(BASE, empty).exitCode()).isZero();
        assertThat(names(empty)).contains("model.safetensors");
    }

    @Test
    void anOutputInsideTheInputIsRefusedForcedOrNot() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(Fixtures.tiny("legacy-base").resolve(f), input.resolve(f));
        }
        for (CliRun run : List.of(CliRun.of("convert", input.toString(), input.resolve("converted").toString()),
                forced(input.toString(), input.resolve("converted")))) {
            assertRefused(run, "is inside the input");
        }
        assertThat(names(input)).containsExactly("config.json", "model.safetensors");
    }

    @Test
    void aLeftoverPartialFolderThatIsNotFuseboxsIsKept() throws Exception {
        Path partial = Files.createDirectories(dir.resolve("v5.partial"));
        Files.writeString(partial.resolve("thesis.tex"), "\\documentclass{article}");
        assertRefused(forced(BASE, dir.resolve("v5")), "was not left by a Fusebox conversion");
        assertThat(partial.resolve("thesis.tex")).exists();
        assertThat(dir.resolve("v5")).doesNotExist();
    }
}
