package dev.fusebox.converter;

import java.nio.file.Path;

/**
 * Where Fusebox keeps a user's files, after the XDG base directory convention: settings, recent files and extra
 * rules in {@code $XDG_CONFIG_HOME/fusebox} (default {@code ~/.config/fusebox}), the extracted sample in
 * {@code $XDG_CACHE_HOME/fusebox} (default {@code ~/.cache/fusebox}). The system properties
 * {@code fusebox.config.dir} and {@code fusebox.cache.dir} override both (the screenshot script uses them).
 */
public final class UserDirectories {

    private UserDirectories() {
    }

    public static Path config() {
        return choose("fusebox.config.dir", "XDG_CONFIG_HOME", ".config");
    }

    public static Path cache() {
        return choose("fusebox.cache.dir", "XDG_CACHE_HOME", ".cache");
    }

    private static Path choose(String property, String variable, String homeFolder) {
        String p = System.getProperty(property);
        if (p != null && !p.isBlank()) {
            return Path.of(p);
        }
        String v = System.getenv(variable);
        // The convention ignores a relative value.
        Path base = v != null && !v.isBlank() && Path.of(v).isAbsolute() ? Path.of(v)
                : Path.of(System.getProperty("user.home"), homeFolder);
        return base.resolve("fusebox");
    }
}
