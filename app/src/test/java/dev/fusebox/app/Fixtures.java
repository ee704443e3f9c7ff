package dev.fusebox.app;

import java.nio.file.Files;
import java.nio.file.Path;

/** The reference fixtures made by the real Python stack (see fixtures/README.md). */
public final class Fixtures {

    private Fixtures() {
    }

    public static Path tiny(String name) {
        String dir = System.getProperty("fusebox.fixtures");
        Path root = dir != null ? Path.of(dir) : Path.of("..", "fixtures");
        Path p = root.resolve("mixtral-tiny").resolve(name).toAbsolutePath().normalize();
        if (!Files.exists(p)) {
            throw new IllegalStateException("fixture " + p + " not found; run the tests through Maven");
        }
        return p;
    }
}
