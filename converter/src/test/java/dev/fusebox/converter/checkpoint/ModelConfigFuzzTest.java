package dev.fusebox.converter.checkpoint;

import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.convert.ConversionRequest;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes config.json: each input is written beside the tiny legacy Mixtral's weights, which are opened (the config
 * tells the layout and the family) and planned. Every input either plans or fails with a FuseboxException.
 */
class ModelConfigFuzzTest {

    @TempDir
    static Path root;

    static Path checkpoint;

    @BeforeAll
    static void copyTheWeights() throws Exception {
        checkpoint = Files.createDirectory(root.resolve("ckpt"));
        Files.copy(Fixtures.tiny("legacy-base").resolve("model.safetensors"), checkpoint.resolve("model.safetensors"));
    }

    @FuzzTest(maxDuration = "5m")
    @DictionaryFile(resourcePath = "config.dict")
    void everyConfigPlansOrIsRefusedWithAFuseboxException(byte[] input) throws Exception {
        Files.write(checkpoint.resolve(Checkpoint.CONFIG), input);
        try (Checkpoint c = Checkpoint.open(checkpoint)) {
            ModelConfig config = c.modelConfig().orElseThrow();
            config.hiddenSize();
            config.headDim();
            config.rmsNormEps();
            config.ropeTheta();
            config.dtype();
            assertThat(Conversions.plan(c, ConversionRequest.DEFAULT).plan().targets()).isNotEmpty();
        } catch (FuseboxException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }
}
