package dev.fusebox.app.sample;

import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class BundledSampleTest {

    @TempDir
    Path cache;

    @Test
    void theSampleIsExtractedOnceAsAByteExactCopyOfTheFixtures() throws IOException {
        List<Path> paths = new BundledSample(cache).paths();
        assertThat(paths).extracting(p -> p.getFileName().toString())
                .containsExactly("legacy-base", "legacy-lora-attn_experts");
        assertThat(paths.getFirst().getParent().getFileName().toString()).matches("sample-[0-9a-f]{12}");
        for (Path dir : paths) {
            Path fixture = Fixtures.tiny(dir.getFileName().toString());
            try (var files = Files.list(fixture)) {
                for (Path f : files.toList()) {
                    assertThat(dir.resolve(f.getFileName())).as(f.toString()).hasSameBinaryContentAs(f);
                }
            }
        }
        Path marker = paths.getFirst().resolveSibling(".complete");
        long extractedAt = Files.getLastModifiedTime(marker).toMillis();
        assertThat(new BundledSample(cache).paths()).isEqualTo(paths);
        assertThat(Files.getLastModifiedTime(marker).toMillis()).isEqualTo(extractedAt);
    }

    @Test
    void aCopyChangedByHandIsExtractedAgain() throws IOException {
        List<Path> paths = new BundledSample(cache).paths();
        Path dir = paths.getFirst().getParent();
        Files.delete(dir.resolve(".complete"));
        Files.delete(paths.getFirst().resolve("config.json"));
        new BundledSample(cache).paths();
        assertThat(paths.getFirst().resolve("config.json")).exists();
    }
}
