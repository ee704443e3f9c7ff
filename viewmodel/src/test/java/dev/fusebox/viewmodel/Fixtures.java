package dev.fusebox.viewmodel;

import java.nio.file.Files;
import java.nio.file.Path;

/** The reference fixtures made by the real Python stack (see fixtures/README.md). */
public final class Fixtures {

    private Fixtures() {
    }

    public static Path tiny(String name) {
        String dir = System.getProperty("fusebox.fixtures");
        Path root = dir != null ? Path.of(dir) : Path.of("..", "fixtures");
        Path p = root.resolve("mixtral-tiny").resolve(name);
        if (!Files.exists(p)) {
            throw new IllegalStateException("fixture " + p.toAbsolutePath() + " not found; run the tests through Maven");
        }
        return p;
    }

    /**
     * A fine-grained FP8 Qwen3-MoE and what transformers 5.18 holds of it, from the converter's test resources
     * (tools/make_fp8_moe_fixture.py; see that folder's README).
     */
    public static Path fp8(String name) {
        Path p = Path.of("..", "converter", "src", "test", "resources", "dev", "fusebox", "converter", "quantized",
                "fp8", name);
        if (!Files.exists(p)) {
            throw new IllegalStateException("fixture " + p.toAbsolutePath() + " not found; run the tests through Maven");
        }
        return p;
    }
}
