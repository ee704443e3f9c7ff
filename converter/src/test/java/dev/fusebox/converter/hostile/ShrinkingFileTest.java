package dev.fusebox.converter.hostile;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.forward.VerificationRequest;
import dev.fusebox.converter.forward.Verifier;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorStatistics;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A weight file that shrinks while it is read — another program rewriting it, a download restarting — is
 * reported as the file having changed, naming it, by every reader of tensor bytes. (Read through a mapping, the
 * same truncation killed the JVM with SIGBUS.)
 */
class ShrinkingFileTest {

    @TempDir
    Path dir;

    private Path copyOfTinyBase() throws IOException {
        Path base = Files.createDirectories(dir.resolve("base"));
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(Fixtures.tiny("legacy-base").resolve(f), base.resolve(f));
        }
        return base;
    }

    private static void truncateToHalf(Path file) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
    }

    /** A progress listener that halves {@code file} at the first report, and says so in {@code done[0]}. */
    private static ProgressListener truncateOnce(Path file, boolean[] done) {
        return p -> {
            if (!done[0]) {
                done[0] = true;
                try {
                    truncateToHalf(file);
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            }
        };
    }

    private static void assertChanged(Throwable e, Path file) {
        assertThat(e).isInstanceOfSatisfying(FuseboxException.class, f -> {
            assertThat(f.problem()).isEqualTo(Problem.IO_ERROR);
            assertThat(f.file()).contains(file);
        });
        assertThat(e.getMessage()).contains("changed while being read").doesNotContain("\n");
    }

    @Test
    void aTensorReadAfterTheFileShrankNamesTheFile() throws Exception {
        Path base = copyOfTinyBase();
        Path weights = base.resolve("model.safetensors");
        try (Checkpoint c = Checkpoint.open(base)) {
            StoredTensor last = c.tensors().values().stream()
                    .max(Comparator.comparingLong(StoredTensor::fileOffset)).orElseThrow();
            StoredTensor first = c.tensors().values().stream()
                    .min(Comparator.comparingLong(StoredTensor::fileOffset)).orElseThrow();
            truncateToHalf(weights);
            assertThatThrownBy(last::data).satisfies(e -> assertChanged(e, weights));
            // Bytes still inside the shrunken file are refused too: the file is no longer what was opened.
            assertThatThrownBy(first::data).satisfies(e -> assertChanged(e, weights));
        }
    }

    @Test
    void statisticsStopWhenTheFileShrinksBetweenChunks() throws Exception {
        Path base = copyOfTinyBase();
        Path weights = base.resolve("model.safetensors");
        try (Checkpoint c = Checkpoint.open(base)) {
            StoredTensor embed = c.tensor("model.embed_tokens.weight").orElseThrow();
            assertThat(embed.dtype()).isEqualTo(Dtype.F32);
            boolean[] truncated = {false};
            assertThatThrownBy(() -> TensorStatistics.compute(embed::data, embed.dtype(), embed.shape(),
                    new long[0], new TensorStatistics.Settings(16, 8), truncateOnce(weights, truncated),
                    Cancellation.NEVER)).satisfies(e -> assertChanged(e, weights));
            assertThat(truncated[0]).isTrue();
        }
    }

    @Test
    void verifyReportsTheConvertedFileThatShrankMidway() throws Exception {
        Path v5 = dir.resolve("v5.safetensors");
        Files.copy(Fixtures.tiny("v5-base.float32.safetensors"), v5);
        boolean[] truncated = {false};
        VerificationRequest request = VerificationRequest.of(Fixtures.tiny("legacy-base"), Optional.empty(), v5,
                Optional.empty());
        assertThatThrownBy(() -> new Verifier().verify(request, truncateOnce(v5, truncated), Cancellation.NEVER))
                .satisfies(e -> assertChanged(e, v5));
    }
}
