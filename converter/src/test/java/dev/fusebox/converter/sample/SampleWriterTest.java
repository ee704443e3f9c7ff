package dev.fusebox.converter.sample;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.MixtralShapes;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.forward.ForwardResult;
import dev.fusebox.converter.forward.ForwardPass;
import dev.fusebox.converter.forward.ModelWeights;
import dev.fusebox.converter.forward.RouterOutput;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SampleWriterTest {

    @TempDir
    Path dir;

    private SampleWriter.Result write(Path out, long seed, boolean adapter, long maxShard) throws FuseboxException {
        return new SampleWriter(SamplePreset.TINY, seed).write(out, adapter, maxShard, ProgressListener.NONE,
                Cancellation.NEVER);
    }

    @Test
    void theConfigsAreWhatTransformers4WroteForTheFixtures() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertThat(new SampleWriter(SamplePreset.TINY, 1).config())
                .isEqualTo(json.readTree(Fixtures.tiny("legacy-base").resolve("config.json").toFile()));
        assertThat(new SampleWriter(SamplePreset.SEED, 1).config())
                .isEqualTo(json.readTree(Fixtures.seed("config.json").toFile()));
    }

    @Test
    void theTensorsAreTheLegacyMixtralOfThePreset() {
        assertThat(specs(new SampleWriter(SamplePreset.TINY, 1)))
                .isEqualTo(new HashSet<>(MixtralShapes.TINY.legacy(Dtype.F32)));
        assertThat(specs(new SampleWriter(SamplePreset.SEED, 1)))
                .isEqualTo(new HashSet<>(MixtralShapes.SEED.legacy(Dtype.BF16)));
    }

    private static Set<TensorSpec> specs(SampleWriter w) {
        Set<TensorSpec> out = new HashSet<>();
        w.modelTensors().forEach(t -> out.add(t.spec()));
        return out;
    }

    @Test
    void aSampleOpensAsALegacyCheckpointWithAnAdapterBesideIt() throws Exception {
        SampleWriter.Result r = write(dir.resolve("tiny"), 1, true, SampleWriter.DEFAULT_MAX_SHARD_BYTES);
        assertThat(r.adapter()).contains(dir.resolve("tiny-lora").toAbsolutePath());
        try (Checkpoint model = Checkpoint.open(r.model()); Checkpoint adapter = Checkpoint.open(r.adapter().get())) {
            assertThat(model.layout()).isEqualTo(Layout.LEGACY);
            assertThat(model.modelType()).isEqualTo("mixtral");
            assertThat(adapter.kind()).isEqualTo(CheckpointKind.ADAPTER);
            assertThat(adapter.layout()).isEqualTo(Layout.LEGACY);
            assertThat(adapter.adapterConfig().orElseThrow().targetModules())
                    .containsExactly("q_proj", "k_proj", "v_proj", "o_proj", "w1", "w2", "w3");
            assertThat(adapter.baseModelDirectory()).contains(r.model());
            assertThat(adapter.tensors()).hasSize(2 * 2 * (4 + 3 * 4));
        }
        assertThat(r.files()).allSatisfy(f -> assertThat(f).isRegularFile());
        assertThat(dir).isDirectoryNotContaining(p -> p.getFileName().toString().startsWith("."));
    }

    @Test
    void theSameSeedWritesTheSameBytesAndAnotherSeedOthers() throws Exception {
        write(dir.resolve("a"), 5, false, SampleWriter.DEFAULT_MAX_SHARD_BYTES);
        write(dir.resolve("b"), 5, false, SampleWriter.DEFAULT_MAX_SHARD_BYTES);
        write(dir.resolve("c"), 6, false, SampleWriter.DEFAULT_MAX_SHARD_BYTES);
        byte[] a = Files.readAllBytes(dir.resolve("a/model.safetensors"));
        assertThat(Files.readAllBytes(dir.resolve("b/model.safetensors"))).isEqualTo(a);
        assertThat(Files.readAllBytes(dir.resolve("c/model.safetensors"))).isNotEqualTo(a);
    }

    @Test
    void aLargeSampleIsShardedWithAnIndexAndHoldsTheSameTensors() throws Exception {
        write(dir.resolve("whole"), 3, false, SampleWriter.DEFAULT_MAX_SHARD_BYTES);
        SampleWriter.Result sharded = write(dir.resolve("sharded"), 3, false, 300_000);
        assertThat(sharded.files()).extracting(p -> p.getFileName().toString())
                .contains("model-00001-of-00003.safetensors", "model.safetensors.index.json");
        try (Checkpoint whole = Checkpoint.open(dir.resolve("whole"));
             Checkpoint parts = Checkpoint.open(dir.resolve("sharded"))) {
            assertThat(parts.index()).isPresent();
            assertThat(parts.files()).hasSize(3);
            for (StoredTensor t : whole.tensors().values()) {
                StoredTensor p = parts.tensor(t.key()).orElseThrow();
                assertThat(p.data().asByteBuffer()).isEqualTo(t.data().asByteBuffer());
            }
        }
    }

    @Test
    void theWeightsKeepActivationsSaneAndRoutingVaried() throws Exception {
        SampleWriter.Result r = write(dir.resolve("tiny"), 1, true, SampleWriter.DEFAULT_MAX_SHARD_BYTES);
        try (Checkpoint model = Checkpoint.open(r.model()); Checkpoint adapter = Checkpoint.open(r.adapter().get())) {
            int[] tokens = IntStream.range(0, 16).map(i -> i * 16).toArray();
            ForwardResult base = run(model, Optional.empty(), tokens);
            ForwardResult adapted = run(model, Optional.of(adapter), tokens);
            double std = Math.sqrt(Arrays.stream(toDoubles(base.logits())).map(v -> v * v).average().orElseThrow());
            assertThat(std).isBetween(0.3, 5.0);
            for (RouterOutput router : base.routers()) {
                Set<Integer> used = new HashSet<>();
                Arrays.stream(router.chosen()).forEach(used::add);
                assertThat(used).hasSizeGreaterThanOrEqualTo(3);
            }
            double change = 0;
            for (int i = 0; i < base.logits().length; i++) {
                change = Math.max(change, Math.abs(base.logits()[i] - adapted.logits()[i]));
            }
            assertThat(change).as("the adapter has an effect, not a dominating one").isBetween(0.05, 3 * std);
        }
    }

    private static ForwardResult run(Checkpoint model, Optional<Checkpoint> adapter, int[] tokens) throws Exception {
        ModelWeights w = ModelWeights.open(model, model.config().orElseThrow(), adapter);
        return new ForwardPass(w).run(tokens, 2, ProgressListener.NONE, Cancellation.NEVER);
    }

    private static double[] toDoubles(float[] v) {
        return IntStream.range(0, v.length).mapToDouble(i -> v[i]).toArray();
    }

    @Test
    void anExistingNonEmptyDirectoryIsRefused() throws Exception {
        Files.createDirectories(dir.resolve("taken"));
        Files.writeString(dir.resolve("taken/keep.txt"), "mine");
        assertThatThrownBy(() -> write(dir.resolve("taken"), 1, false, SampleWriter.DEFAULT_MAX_SHARD_BYTES))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED));
        assertThat(Files.readString(dir.resolve("taken/keep.txt"))).isEqualTo("mine");
    }

    @Test
    void cancellingLeavesNothingBehind() {
        assertThatThrownBy(() -> new SampleWriter(SamplePreset.TINY, 1).write(dir.resolve("never"), true,
                SampleWriter.DEFAULT_MAX_SHARD_BYTES, ProgressListener.NONE, () -> true))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.CANCELLED));
        assertThat(dir).isEmptyDirectory();
    }
}
