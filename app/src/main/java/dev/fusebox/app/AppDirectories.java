package dev.fusebox.app;

import dev.fusebox.converter.UserDirectories;

import java.nio.file.Path;

/** The desktop app's folders: settings and recent files in {@code config}, the extracted sample in {@code cache}. */
record AppDirectories(Path config, Path cache) {

    static AppDirectories fromEnvironment() {
        return new AppDirectories(UserDirectories.config(), UserDirectories.cache());
    }

    Path recentFiles() {
        return config.resolve("recent.json");
    }
}
