package dev.fusebox.converter.torchzip;

import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.tensor.TensorEntry;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the torch.save reader at both of its layers: whole archives (the zip directory, the records, the
 * tensors' byte ranges) and bare pickles (the restricted unpickler). Every input either yields tensors whose bytes
 * lie inside the file, or fails with a FuseboxException — never another exception, never running anything.
 * The ranges are checked, not mapped: mapping (and unmapping) every input would dominate the fuzzer's time.
 */
class TorchZipFuzzTest {

    @TempDir
    static Path dir;

    @FuzzTest(maxDuration = "5m")
    @DictionaryFile(resourcePath = "pickle.dict")
    void everyArchiveOpensOrIsRefusedWithAFuseboxException(byte[] input) throws Exception {
        Path f = dir.resolve("adapter_model.bin");
        Files.write(f, input);
        try (TorchZipFile z = TorchZipFile.open(f)) {
            for (TensorEntry t : z.tensors()) {
                assertThat(t.begin()).isNotNegative();
                assertThat(t.end()).isLessThanOrEqualTo(input.length);
                assertThat(t.byteSize()).isEqualTo(t.spec().byteSize());
            }
        } catch (FuseboxException expected) {
            assertThat(expected.getMessage()).startsWith(f.toString());
        }
    }

    @FuzzTest(maxDuration = "5m")
    @DictionaryFile(resourcePath = "pickle.dict")
    void everyPickleLoadsOrIsRefusedWithAFuseboxException(byte[] input) {
        try {
            assertThat(TorchUnpickler.load(Path.of("data.pkl"), input)).isNotNull();
        } catch (FuseboxException expected) {
            assertThat(expected.getMessage()).startsWith("data.pkl: data.pkl byte ");
        }
    }
}
