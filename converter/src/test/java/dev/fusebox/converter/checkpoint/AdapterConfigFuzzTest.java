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
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes adapter_config.json: each input is written beside a tiny legacy LoRA's weights, which are planned for
 * conversion onto the tiny base (ranks, alphas and their patterns, target modules, rsLoRA, layers). Every input
 * either plans or fails with a FuseboxException: a pattern that does not compile or runs away is refused too.
 */
class AdapterConfigFuzzTest {

    @TempDir
    static Path root;

    static Path adapter;

    @BeforeAll
    static void copyTheWeights() throws Exception {
        adapter = Files.createDirectory(root.resolve("lora"));
        Files.copy(Fixtures.tiny("legacy-lora-attn_experts").resolve("adapter_model.safetensors"),
                adapter.resolve("adapter_model.safetensors"));
    }

    @FuzzTest(maxDuration = "5m")
    @DictionaryFile(resourcePath = "adapter.dict")
    void everyAdapterConfigPlansOrIsRefusedWithAFuseboxException(byte[] input) throws Exception {
        Files.write(adapter.resolve(Checkpoint.ADAPTER_CONFIG), input);
        try (Checkpoint c = Checkpoint.open(adapter)) {
            assertThat(c.kind()).isEqualTo(CheckpointKind.ADAPTER);
            assertThat(Conversions.plan(c, ConversionRequest.DEFAULT.withBase(
                    Optional.of(Fixtures.tiny("legacy-base")))).plan().targets()).isNotEmpty();
        } catch (FuseboxException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }
}
