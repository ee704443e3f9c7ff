package dev.fusebox.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The reference fixtures made by the real Python stack (fixtures/, rebuilt by tools/make-fixtures.sh, checked by
 * SHA256SUMS), where every module's tests find them: the build passes their folder as {@code fusebox.fixtures}.
 */
public final class Fixtures {

    private Fixtures() {
    }

    /** The fixtures folder; a run outside Maven, which does not pass it, falls back to ../fixtures. */
    public static Path root() {
        String dir = System.getProperty("fusebox.fixtures");
        Path p = dir != null ? Path.of(dir) : Path.of("..", "fixtures");
        if (!Files.isDirectory(p.resolve("mixtral-tiny"))) {
            throw new IllegalStateException("fixtures not found at " + p.toAbsolutePath()
                    + "; run the tests through Maven from the repository root");
        }
        return p;
    }

    /** A tiny Mixtral fixture: a checkpoint, an adapter, a reference state dict or tree (fixtures/mixtral-tiny). */
    public static Path tiny(String name) {
        return root().resolve("mixtral-tiny").resolve(name);
    }

    /** The trees and shapes of the seed-shaped Mixtral (fixtures/mixtral-seed-shape). */
    public static Path seed(String name) {
        return root().resolve("mixtral-seed-shape").resolve(name);
    }

    /**
     * A fine-grained FP8 Qwen3-MoE and what transformers 5.18 holds of it, from the converter's test resources
     * (tools/make_fp8_moe_fixture.py; see that folder's README).
     */
    public static Path fp8(String name) {
        Path p = root().resolveSibling("converter").resolve("src/test/resources/dev/fusebox/converter/quantized/fp8")
                .resolve(name);
        if (!Files.exists(p)) {
            throw new IllegalStateException("fixture " + p.toAbsolutePath() + " not found; run the tests through Maven");
        }
        return p;
    }
}
