package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TemporaryConversionTest {

    private static final Path BASE = Fixtures.tiny("legacy-base");
    private static final Path ADAPTER = Fixtures.tiny("legacy-lora-attn_experts");

    @TempDir
    Path parent;

    private List<Path> left() throws IOException {
        try (Stream<Path> s = Files.list(parent)) {
            return s.toList();
        }
    }

    @Test
    void theAdapterIsConvertedOnTheModelAndClosingRemovesIt() throws Exception {
        try (Checkpoint model = Checkpoint.open(BASE); Checkpoint adapter = Checkpoint.open(ADAPTER)) {
            try (TemporaryConversion t = TemporaryConversion.adapter(parent, adapter, model, Layout.V5,
                    ProgressListener.NONE, Cancellation.NEVER).orElseThrow()) {
                assertThat(t.adapter()).startsWith(parent);
                try (Checkpoint a = Checkpoint.open(t.adapter())) {
                    assertThat(a.layout()).isEqualTo(Layout.V5);
                    assertThat(a.tensor("base_model.model.model.layers.1.mlp.experts.base_layer.lora_B.weight"))
                            .isPresent();
                }
            }
        }
        assertThat(left()).isEmpty();
    }

    @Test
    void anAdapterWithoutExpertOrRouterLoraNeedsNoConversion() throws Exception {
        Path attention = parent.resolve("inputs").resolve("attention-only");
        Files.createDirectories(attention);
        Files.copy(ADAPTER.resolve(Checkpoint.ADAPTER_CONFIG), attention.resolve(Checkpoint.ADAPTER_CONFIG));
        List<TensorSpec> kept;
        try (Checkpoint full = Checkpoint.open(ADAPTER)) {
            kept = full.specs().stream().filter(s -> s.key().contains(".self_attn.")).toList();
        }
        TestCheckpoints.writeSafetensors(attention.resolve(Checkpoint.ADAPTER_WEIGHTS), kept);
        Path temporary = Files.createDirectories(parent.resolve("temporary"));
        try (Checkpoint model = Checkpoint.open(BASE); Checkpoint adapter = Checkpoint.open(attention)) {
            assertThat(TemporaryConversion.adapter(temporary, adapter, model, Layout.V5, ProgressListener.NONE,
                    Cancellation.NEVER)).isEmpty();
        }
        try (Stream<Path> s = Files.list(temporary)) {
            assertThat(s.toList()).isEmpty();
        }
    }

    @Test
    void cancellingWhileTheAdapterIsWrittenLeavesNothingBehind() throws Exception {
        AtomicBoolean cancel = new AtomicBoolean();
        AtomicBoolean started = new AtomicBoolean();
        try (Checkpoint model = Checkpoint.open(BASE); Checkpoint adapter = Checkpoint.open(ADAPTER)) {
            assertThatThrownBy(() -> TemporaryConversion.adapter(parent, adapter, model, Layout.V5, p -> {
                if (p.bytesDone() > 0) {
                    started.set(true);
                    cancel.set(true);
                }
            }, cancel::get)).isInstanceOfSatisfying(FuseboxException.class,
                    e -> assertThat(e.problem()).isEqualTo(Problem.CANCELLED));
        }
        assertThat(started).isTrue();
        assertThat(left()).isEmpty();
    }

    @Test
    void theNextRunRemovesTheFoldersOfAKilledOneAndNoOther() throws Exception {
        Process finished = new ProcessBuilder("true").start();
        finished.waitFor();
        Path abandoned = Files.createDirectories(parent.resolve(TemporaryConversion.PREFIX + finished.pid() + "-1")
                .resolve("adapter"));
        Path running = Files.createDirectory(parent.resolve(TemporaryConversion.PREFIX
                + ProcessHandle.current().pid() + "-2"));
        Path unnamed = Files.createDirectory(parent.resolve(TemporaryConversion.PREFIX + "12345678"));
        Path other = Files.createDirectory(parent.resolve("photos"));
        try (Checkpoint model = Checkpoint.open(BASE); Checkpoint adapter = Checkpoint.open(ADAPTER);
             TemporaryConversion c = TemporaryConversion.adapter(parent, adapter, model, Layout.V5,
                     ProgressListener.NONE, Cancellation.NEVER).orElseThrow()) {
            assertThat(abandoned.getParent()).doesNotExist();
            assertThat(running).isDirectory();
            assertThat(unnamed).isDirectory();
            assertThat(other).isDirectory();
            assertThat(c.adapter().getParent().getFileName().toString())
                    .startsWith(TemporaryConversion.PREFIX + ProcessHandle.current().pid() + "-");
        }
    }
}
