package dev.fusebox.converter;

import java.nio.file.Files;
import java.nio.file.Path;

/** The reference fixtures made by the real Python stack (fixtures/, rebuilt by tools/make-fixtures.sh, checked by SHA256SUMS). */
public final class Fixtures {

    private Fixtures() {
    }

    public static Path root() {
        String dir = System.getProperty("fusebox.fixtures");
        Path p = dir != null ? Path.of(dir) : Path.of("..", "fixtures");
        if (!Files.isDirectory(p.resolve("mixtral-tiny"))) {
            throw new IllegalStateException("fixtures not found at " + p.toAbsolutePath()
                    + "; run the tests through Maven from the repository root");
        }
        return p;
    }

    public static Path tiny(String name) {
        return root().resolve("mixtral-tiny").resolve(name);
    }

    public static Path seed(String name) {
        return root().resolve("mixtral-seed-shape").resolve(name);
    }
}
