package dev.fusebox.converter;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

import static org.assertj.core.api.Assertions.assertThat;

class IoReasonTest {

    @Test
    void aFileSystemFailureGivesTheSystemsReasonNotThePathAgain() {
        assertThat(IoReason.of(new AccessDeniedException("/data/model.safetensors"))).isEqualTo("permission denied");
        assertThat(IoReason.of(new AccessDeniedException("/data/out", null, "Permission denied")))
                .isEqualTo("permission denied");
        assertThat(IoReason.of(new FileSystemException("/data/out", null, "No space left on device")))
                .isEqualTo("no space left on device");
        assertThat(IoReason.of(new NoSuchFileException("/data/x"))).isEqualTo("no such file or directory");
        assertThat(IoReason.of(new IOException("Input/output error"))).isEqualTo("Input/output error");
    }
}
