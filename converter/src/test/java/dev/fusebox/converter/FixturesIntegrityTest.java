package dev.fusebox.converter;

import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class FixturesIntegrityTest {

    @Test
    void theVendoredFixturesAreByteForByteTheOnesThePythonStackMade() throws IOException, NoSuchAlgorithmException {
        Path root = Fixtures.root();
        List<String> lines = Files.readAllLines(root.resolve("SHA256SUMS"));
        assertThat(lines).hasSizeGreaterThan(40);
        for (String line : lines) {
            String expected = line.substring(0, 64);
            Path file = root.resolve(line.substring(66));
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
            assertThat(HexFormat.of().formatHex(digest)).as(file.toString()).isEqualTo(expected);
        }
    }
}
