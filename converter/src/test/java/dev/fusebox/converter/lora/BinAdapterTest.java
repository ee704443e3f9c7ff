package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.convert.OutputGuard;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Old adapters ship as adapter_model.bin (torch.save's zip with a pickle), read by the restricted unpickler: one
 * converts exactly like its safetensors twin, and a hostile one is refused before anything in it can run.
 */
class BinAdapterTest {

    /** The hostile reader's test files (made by real torch; see make_bin_files.py there). */
    private static final String TORCHZIP = "/dev/fusebox/converter/torchzip/";

    /** What the hostile files' payloads would create if they ever ran (as in HostileTorchZipTest). */
    private static final Path MARKER = Path.of("target/fusebox-PWNED");

    @TempDir
    Path tmp;

    @Test
    void aBinAdapterConvertsToTheSameBytesAsPeftSaves() throws Exception {
        Path adapter = binAdapter("attn_experts.adapter_model.bin");
        AdapterPlan plan = AdapterFixtures.plan(adapter, Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(plan.plan().from()).isEqualTo(Layout.LEGACY);
        assertThat(plan.peftCheck().outcome()).isEqualTo(PeftVerdict.Outcome.LOADS_EXACTLY);
        Path out = tmp.resolve("v5");
        AdapterFixtures.convert(adapter, out, Optional.empty(), Optional.empty(), Optional.of(Dtype.F64));
        assertThat(Files.mismatch(out.resolve(Checkpoint.ADAPTER_WEIGHTS),
                Fixtures.tiny("peft-saved-attn_experts").resolve(Checkpoint.ADAPTER_WEIGHTS))).isEqualTo(-1L);
        try (Stream<Path> written = Files.list(out)) {
            assertThat(written.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder(Checkpoint.ADAPTER_WEIGHTS, Checkpoint.ADAPTER_CONFIG, OutputGuard.MARKER);
        }
    }

    @Test
    void aHostilePickleIsRefusedAndNothingInItRuns() throws Exception {
        for (String hostile : new String[] {"os-system.bin", "builtins-eval.bin", "exec-in-tensor-args.bin"}) {
            Path adapter = binAdapter(hostile);
            assertThatThrownBy(() -> AdapterFixtures.plan(adapter, Optional.empty(), Optional.empty(),
                    Optional.empty())).as(hostile).isInstanceOf(FuseboxException.class)
                    .hasMessageContaining("adapter_model.bin");
            assertThatThrownBy(() -> AdapterFixtures.convert(adapter, tmp.resolve("out"), Optional.empty(),
                    Optional.empty(), Optional.empty())).as(hostile).isInstanceOf(FuseboxException.class);
            assertThat(tmp.resolve("out")).doesNotExist();
        }
        assertThat(MARKER).doesNotExist();
    }

    private Path binAdapter(String resource) throws Exception {
        Path dir = tmp.resolve(resource.replace(".", "-"));
        Files.createDirectories(dir);
        Files.copy(Path.of(BinAdapterTest.class.getResource(TORCHZIP + resource).toURI()),
                dir.resolve(Checkpoint.ADAPTER_WEIGHTS_BIN));
        Files.writeString(dir.resolve(Checkpoint.ADAPTER_CONFIG), Files.readString(Fixtures.tiny(
                "legacy-lora-attn_experts").resolve(Checkpoint.ADAPTER_CONFIG)).replace("\"legacy-base\"", "\""
                + Fixtures.tiny("legacy-base").toAbsolutePath() + "\""));
        return dir;
    }
}
