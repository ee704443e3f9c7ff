package dev.fusebox.converter.safetensors;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.tensor.TensorEntry;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the safetensors reader: every input either opens, with its tensors laid back to back up to the end of
 * the file, or fails with a FuseboxException — no other exception, no hang. Runs over the seed corpus in
 * SafetensorsFuzzTestInputs in the normal test run; fuzzes with JAZZER_FUZZ=1 (see the README).
 */
class SafetensorsFuzzTest {

    @TempDir
    static Path dir;

    @FuzzTest(maxDuration = "5m")
    @DictionaryFile(resourcePath = "safetensors.dict")
    void everyFileOpensOrIsRefusedWithAFuseboxException(byte[] input) throws Exception {
        Path f = dir.resolve("fuzz.safetensors");
        Files.write(f, input);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            long end = s.header().dataStart();
            for (TensorEntry t : s.tensors()) {
                assertThat(s.fileOffset(t)).isEqualTo(end);
                assertThat(t.byteSize()).isEqualTo(t.spec().byteSize());
                end = s.fileOffset(t) + t.byteSize();
            }
            assertThat(end).isEqualTo(input.length);
        } catch (FuseboxException expected) {
            assertThat(expected.getMessage()).startsWith(f.toString());
        }
    }

    /** The header parser alone, without file I/O, so the fuzzer runs many more inputs through the JSON checks. */
    @FuzzTest(maxDuration = "5m")
    @DictionaryFile(resourcePath = "safetensors.dict")
    void everyHeaderParsesOrIsRefusedWithAFuseboxException(FuzzedDataProvider data) {
        long dataLength = data.consumeLong(0, 1L << 40);
        byte[] json = data.consumeRemainingAsBytes();
        try {
            SafetensorsHeader h = SafetensorsHeader.parse(Path.of("fuzz.safetensors"), json, dataLength);
            long end = 0;
            for (TensorEntry t : h.tensors()) {
                assertThat(t.begin()).isEqualTo(end);
                end = t.end();
            }
            assertThat(end).isEqualTo(dataLength);
        } catch (FuseboxException expected) {
            assertThat(expected.getMessage()).startsWith("fuzz.safetensors: ");
        }
    }
}
