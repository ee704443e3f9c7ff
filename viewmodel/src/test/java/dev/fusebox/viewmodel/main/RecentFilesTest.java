package dev.fusebox.viewmodel.main;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class RecentFilesTest {

    @TempDir
    Path dir;

    @Test
    void theNewestComesFirstOnceAndSurvivesARestart() {
        Path file = dir.resolve("config/fusebox/recent.json");
        RecentFiles recent = RecentFiles.load(file);
        recent.add(dir.resolve("a"));
        recent.add(dir.resolve("b"));
        recent.add(dir.resolve("a"));
        assertThat(recent.paths()).containsExactly(dir.resolve("a"), dir.resolve("b"));
        assertThat(RecentFiles.load(file).paths()).containsExactly(dir.resolve("a"), dir.resolve("b"));
    }

    @Test
    void theListKeepsTheLatestTen() {
        RecentFiles recent = RecentFiles.load(dir.resolve("recent.json"));
        for (int i = 0; i < 12; i++) {
            recent.add(dir.resolve("p" + i));
        }
        assertThat(recent.paths()).hasSize(RecentFiles.LIMIT).startsWith(dir.resolve("p11")).endsWith(dir.resolve("p2"));
    }

    @Test
    void anUnreadableFileCountsAsEmpty() throws IOException {
        Path file = dir.resolve("recent.json");
        Files.writeString(file, "{not json");
        assertThat(RecentFiles.load(file).paths()).isEmpty();
    }

    @Test
    void relativeEntriesWrittenByHandAreLeftOut() throws IOException {
        Path file = dir.resolve("recent.json");
        Files.writeString(file, "[\"relative/path\", \"" + dir.resolve("x").toString().replace("\\", "\\\\") + "\"]");
        assertThat(RecentFiles.load(file).paths()).containsExactly(dir.resolve("x"));
    }
}
