package dev.fusebox.app;

import java.nio.file.Path;

/**
 * Where Fusebox keeps its files, after the XDG base directory convention: settings and recent files in
 * {@code $XDG_CONFIG_HOME/fusebox} (default {@code ~/.config/fusebox}), the extracted sample in
 * {@code $XDG_CACHE_HOME/fusebox} (default {@code ~/.cache/fusebox}). The system properties
 * {@code fusebox.config.dir} and {@code fusebox.cache.dir} override both (the screenshot script uses them).
 */
record AppDirectories(Path config, Path cache) {

    static AppDirectories fromEnvironment() {
        Path home = Path.of(System.getProperty("user.home"));
        return new AppDirectories(
                choose("fusebox.config.dir", "XDG_CONFIG_HOME", home.resolve(".config")),
                choose("fusebox.cache.dir", "XDG_CACHE_HOME", home.resolve(".cache")));
    }

    private static Path choose(String property, String variable, Path fallbackBase) {
        String p = System.getProperty(property);
        if (p != null && !p.isBlank()) {
            return Path.of(p);
        }
        String v = System.getenv(variable);
        Path base = v != null && !v.isBlank() && Path.of(v).isAbsolute() ? Path.of(v) : fallbackBase;
        return base.resolve("fusebox");
    }

    Path recentFiles() {
        return config.resolve("recent.json");
    }
}
