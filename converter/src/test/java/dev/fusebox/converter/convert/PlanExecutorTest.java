package dev.fusebox.converter.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.Assembly;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.Progress;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.fusebox.converter.TestCheckpoints.f32;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PlanExecutorTest {

    @TempDir
    Path dir;

    private static ConversionPlan plan(Checkpoint c) throws FuseboxException {
        return Planner.plan(c, RuleBook.bundled(), Optional.empty());
    }

    @Test
    void aSmallShardSizeSplitsTheOutputAndWritesAnIndexTransformersCanRead() throws Exception {
        Path out = dir.resolve("v5");
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            ConversionResult r = PlanExecutor.execute(c, plan(c), out, new ConvertOptions(300_000, false),
                    ProgressListener.NONE, Cancellation.NEVER);
            assertThat(r.weightFiles()).hasSizeGreaterThan(1);
            assertThat(r.weightFiles().getFirst().getFileName().toString())
                    .isEqualTo("model-00001-of-0000" + r.weightFiles().size() + ".safetensors");
        }
        JsonNode index = new ObjectMapper().readTree(out.resolve("model.safetensors.index.json").toFile());
        assertThat(index.at("/metadata/total_size").asLong()).isEqualTo(822_528);
        List<String> keys = new ArrayList<>();
        index.get("weight_map").fieldNames().forEachRemaining(keys::add);
        assertThat(keys).isSorted().hasSize(21);
        try (Checkpoint converted = Checkpoint.open(out);
             Checkpoint reference = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            assertThat(converted.index()).isPresent();
            FixtureConversionTest.assertSameTensors(converted, reference);
        }
    }

    @Test
    void twoThreadsWritingEachShardWriteTheSameBytesBothWaysAndReportEveryByte() throws Exception {
        ConvertOptions twoLanes = ConvertOptions.DEFAULTS.withTwoLanesFrom(0);
        for (ConvertOptions options : List.of(twoLanes, new ConvertOptions(300_000, false).withTwoLanesFrom(0))) {
            Path v5 = dir.resolve("v5-" + options.maxShardBytes());
            List<Progress> seen = Collections.synchronizedList(new ArrayList<>());
            try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
                PlanExecutor.execute(c, plan(c), v5, options, seen::add, Cancellation.NEVER);
            }
            assertThat(seen.getLast().bytesDone()).isEqualTo(822_528);
            assertThat(seen.getLast().itemsDone()).isEqualTo(21);
            assertThat(seen).extracting(Progress::bytesDone).isSorted();
            Path back = dir.resolve("legacy-" + options.maxShardBytes());
            try (Checkpoint converted = Checkpoint.open(v5);
                 Checkpoint reference = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
                FixtureConversionTest.assertSameTensors(converted, reference);
                PlanExecutor.execute(converted, plan(converted), back, options, ProgressListener.NONE,
                        Cancellation.NEVER);
            }
            try (Checkpoint roundTrip = Checkpoint.open(back);
                 Checkpoint legacy = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
                FixtureConversionTest.assertSameTensors(roundTrip, legacy);
            }
        }
    }

    @Test
    void aSafetensorsOutputIsOneFileWithoutCompanions() throws Exception {
        Path out = dir.resolve("converted.safetensors");
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            PlanExecutor.execute(c, plan(c), out, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        try (Checkpoint converted = Checkpoint.open(out);
             Checkpoint reference = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            FixtureConversionTest.assertSameTensors(converted, reference);
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("converted.safetensors");
        }
    }

    @Test
    void progressCountsEveryByteAndTensorAndTheInputIsLeftAsItWas() throws Exception {
        Path input = Fixtures.tiny("legacy-base").resolve("model.safetensors");
        long modified = Files.getLastModifiedTime(input).toMillis();
        List<Progress> seen = new ArrayList<>();
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            PlanExecutor.execute(c, plan(c), dir.resolve("v5"), ConvertOptions.DEFAULTS, seen::add, Cancellation.NEVER);
        }
        Progress last = seen.getLast();
        assertThat(last.bytesDone()).isEqualTo(last.bytesTotal()).isEqualTo(822_528);
        assertThat(last.itemsDone()).isEqualTo(last.itemsTotal()).isEqualTo(21);
        assertThat(seen).extracting(Progress::bytesDone).isSorted();
        assertThat(Files.getLastModifiedTime(input).toMillis()).isEqualTo(modified);
    }

    @Test
    void cancellingRemovesEverythingWritten() throws Exception {
        Path out = dir.resolve("v5");
        boolean[] cancel = {false};
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            assertThatThrownBy(() -> PlanExecutor.execute(c, plan(c), out, ConvertOptions.DEFAULTS,
                    p -> cancel[0] = p.itemsDone() >= 3, () -> cancel[0]))
                    .isInstanceOfSatisfying(FuseboxException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.CANCELLED));
        }
        assertThat(out).doesNotExist();
        assertThat(dir.resolve("v5.partial")).doesNotExist();
    }

    @Test
    void anEarlierConversionIsReplacedOnlyWhenForced() throws Exception {
        Path out = dir.resolve("v5");
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            ConversionPlan plan = plan(c);
            PlanExecutor.execute(c, plan, out, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
            Files.writeString(out.resolve("old.txt"), "old");
            assertThatThrownBy(() -> PlanExecutor.execute(c, plan, out, ConvertOptions.DEFAULTS, ProgressListener.NONE,
                    Cancellation.NEVER)).isInstanceOfSatisfying(FuseboxException.class,
                    e -> {
                        assertThat(e.problem()).isEqualTo(Problem.OUTPUT_EXISTS);
                        assertThat(e.remedy()).contains(Remedy.REPLACE_OUTPUT);
                    }).hasMessageEndingWith("already exists; choose another output or ask to replace it");
            assertThat(out.resolve("old.txt")).exists();
            PlanExecutor.execute(c, plan, out, new ConvertOptions(ConvertOptions.DEFAULT_MAX_SHARD_BYTES, true),
                    ProgressListener.NONE, Cancellation.NEVER);
        }
        try (var files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("config.json",
                    "model.safetensors", OutputGuard.MARKER);
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("v5");
        }
    }

    @Test
    void aFolderFuseboxDidNotWriteIsNeverReplaced() throws Exception {
        Path out = Files.createDirectories(dir.resolve("v5"));
        Files.writeString(out.resolve("old.txt"), "old");
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            assertThatThrownBy(() -> PlanExecutor.execute(c, plan(c), out,
                    new ConvertOptions(ConvertOptions.DEFAULT_MAX_SHARD_BYTES, true), ProgressListener.NONE,
                    Cancellation.NEVER)).isInstanceOfSatisfying(FuseboxException.class,
                    e -> assertThat(e.problem()).isEqualTo(Problem.OUTPUT_EXISTS)).hasMessageContaining(
                    "Fusebox did not write");
        }
        assertThat(out.resolve("old.txt")).hasContent("old");
    }

    @Test
    void theInputIsNeverTheOutput() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.copy(Fixtures.tiny("legacy-base").resolve("model.safetensors"), input.resolve("model.safetensors"));
        Files.copy(Fixtures.tiny("legacy-base").resolve("config.json"), input.resolve("config.json"));
        ConvertOptions force = new ConvertOptions(ConvertOptions.DEFAULT_MAX_SHARD_BYTES, true);
        try (Checkpoint c = Checkpoint.open(input)) {
            ConversionPlan plan = plan(c);
            for (Path out : List.of(input, input.resolve("model.safetensors"), dir)) {
                assertThatThrownBy(() -> PlanExecutor.execute(c, plan, out, force, ProgressListener.NONE,
                        Cancellation.NEVER)).as(out.toString()).hasMessageContaining("is or holds the input");
            }
        }
        assertThat(input.resolve("model.safetensors")).hasSameBinaryContentAs(
                Fixtures.tiny("legacy-base").resolve("model.safetensors"));
    }

    /** A computed target (as an adapter conversion makes): the tensor negated, written 5 bytes at a time. */
    private static PlannedTarget negated(TensorSpec source, String key, boolean failHalfway) {
        return new PlannedTarget(new TensorSpec(key, source.dtype(), source.shape()), List.of("negate"),
                new ComputedRecipe(List.of(source), "the source negated", (in, out) -> {
                    ByteBuffer all = ByteBuffer.allocate((int) source.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                    in.read(source.key(), 0, all);
                    for (int i = 0; i < all.capacity(); i += 4) {
                        all.putFloat(i, -all.getFloat(i));
                    }
                    for (int pos = 0; pos < all.capacity(); pos += 5) {
                        if (failHalfway && pos > all.capacity() / 2) {
                            throw new IOException("disk full (simulated)");
                        }
                        out.write(all.duplicate().position(pos).limit(Math.min(all.capacity(), pos + 5)));
                    }
                }));
    }

    private ConversionPlan computedPlan(Checkpoint c, PlannedTarget computed) throws FuseboxException {
        TensorSpec norm = c.tensor("model.norm.weight").orElseThrow().spec();
        PlannedTarget copy = new PlannedTarget(norm, List.of(), new CopyRecipe(Assembly.of(norm).placements()));
        return new ConversionPlan(c.location(), "mixtral", "test", Layout.LEGACY, Layout.V5, c.specs(),
                List.of(copy, computed));
    }

    @Test
    void aComputedTargetIsWrittenByItsCode() throws Exception {
        Path out = dir.resolve("computed");
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            TensorSpec src = c.tensor("lm_head.weight").orElseThrow().spec();
            PlanExecutor.execute(c, computedPlan(c, negated(src, "lm_head.negated", false)), out,
                    ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
            try (Checkpoint written = Checkpoint.open(out)) {
                var original = c.tensor("lm_head.weight").orElseThrow().data();
                var negated = written.tensor("lm_head.negated").orElseThrow().data();
                ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                for (long i = 0; i < src.shape().elementCount(); i++) {
                    assertThat(negated.getAtIndex(f, i)).isEqualTo(-original.getAtIndex(f, i));
                }
            }
        }
    }

    @Test
    void aPlanCanNameItsWeightsFileAndAddFilesOfItsOwn() throws Exception {
        Path out = dir.resolve("adapter");
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            ConversionPlan base = plan(c);
            ConversionPlan adapterLike = new ConversionPlan(c.location(), base.modelType(), base.rules(), base.from(),
                    base.to(), base.sourceTensors(), base.targets(), "adapter_model.safetensors",
                    Map.of("config.json", "{\"rewritten\": true}", "README.md", "made by a test"));
            ConversionResult r = PlanExecutor.execute(c, adapterLike, out, new ConvertOptions(500_000, false),
                    ProgressListener.NONE, Cancellation.NEVER);
            assertThat(r.weightFiles()).extracting(p -> p.getFileName().toString())
                    .containsExactly("adapter_model-00001-of-00002.safetensors", "adapter_model-00002-of-00002.safetensors");
        }
        assertThat(out.resolve("adapter_model.safetensors.index.json")).exists();
        assertThat(Files.readString(out.resolve("config.json"))).isEqualTo("{\"rewritten\": true}");
        assertThat(Files.readString(out.resolve("README.md"))).isEqualTo("made by a test");
    }

    @Test
    void aFailureHalfwayRemovesThePartialOutput() throws Exception {
        Path out = dir.resolve("computed");
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            TensorSpec src = c.tensor("lm_head.weight").orElseThrow().spec();
            assertThatThrownBy(() -> PlanExecutor.execute(c, computedPlan(c, negated(src, "x", true)), out,
                    ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> assertThat(e.problem()).isEqualTo(Problem.IO_ERROR))
                    .hasMessageContaining("disk full (simulated)");
        }
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void aComputationThatWritesTooLittleIsRefused() throws Exception {
        try (Checkpoint c = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            TensorSpec src = c.tensor("model.norm.weight").orElseThrow().spec();
            PlannedTarget shortOne = new PlannedTarget(new TensorSpec("short", Dtype.F32, Shape.of(16)), List.of(),
                    new ComputedRecipe(List.of(src), "too short", (in, out) -> out.write(ByteBuffer.allocate(8))));
            assertThatThrownBy(() -> PlanExecutor.execute(c, computedPlan(c, shortOne), dir.resolve("o"),
                    ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER))
                    .hasMessageContaining("its computation wrote 8 of its 64 bytes");
        }
        assertThat(dir.resolve("o")).doesNotExist();
    }

    /**
     * Rules with strided operations go through the bounded gather path: an interleaved gate/up and a transposed
     * down projection of 10 MiB (more than one window), checked element by element, then converted back.
     */
    @Test
    void interleaveAndTransposeAreWrittenElementByElementAndUndoneExactly() throws Exception {
        Path rules = dir.resolve("w13.json");
        Files.writeString(rules, """
                {"family": "w13", "model_types": ["w13"],
                 "converters": [
                   {"sources": "mlp.experts.w13_weight", "targets": "mlp.experts.gate_up_proj",
                    "operations": [{"op": "interleave", "dim": 1}]},
                   {"sources": "mlp.experts.w2_t", "targets": "mlp.experts.down_proj",
                    "operations": [{"op": "transpose", "dim0": 1, "dim1": 2}]}]}
                """);
        RuleBook book = RuleBook.bundled().withFiles(List.of(rules));
        TensorSpec w13 = f32("model.layers.0.mlp.experts.w13_weight", 3, 6, 5);
        TensorSpec w2t = f32("model.layers.0.mlp.experts.w2_t", 1, 1024, 2560);
        Path legacy = TestCheckpoints.write(dir.resolve("legacy"), "w13", Map.of(), List.of(w13, w2t));
        Path v5 = dir.resolve("v5");
        Path back = dir.resolve("back");
        try (Checkpoint c = Checkpoint.open(legacy, book)) {
            ConversionPlan plan = Planner.plan(c, book, Optional.empty());
            PlanExecutor.execute(c, plan, v5, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        ValueLayout.OfInt i32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        try (Checkpoint c = Checkpoint.open(v5, book)) {
            var gateUp = c.tensor("model.layers.0.mlp.experts.gate_up_proj").orElseThrow();
            assertThat(gateUp.shape()).isEqualTo(Shape.of(3, 6, 5));
            ByteBuffer src = ByteBuffer.wrap(TestCheckpoints.bytes(w13)).order(ByteOrder.LITTLE_ENDIAN);
            for (int e = 0; e < 3; e++) {
                for (int j = 0; j < 6; j++) {
                    int old = 2 * (j % 3) + j / 3;
                    for (int h = 0; h < 5; h++) {
                        assertThat(gateUp.data().getAtIndex(i32, (e * 6 + j) * 5 + h))
                                .isEqualTo(src.getInt(((e * 6 + old) * 5 + h) * 4));
                    }
                }
            }
            var down = c.tensor("model.layers.0.mlp.experts.down_proj").orElseThrow();
            assertThat(down.shape()).isEqualTo(Shape.of(1, 2560, 1024));
            ByteBuffer d = ByteBuffer.wrap(TestCheckpoints.bytes(w2t)).order(ByteOrder.LITTLE_ENDIAN);
            long wrong = 0;
            for (int r = 0; r < 2560; r++) {
                for (int k = 0; k < 1024; k++) {
                    wrong += down.data().getAtIndex(i32, (long) r * 1024 + k) == d.getInt((k * 2560 + r) * 4) ? 0 : 1;
                }
            }
            assertThat(wrong).as("elements of the transpose out of place").isZero();
            PlanExecutor.execute(c, Planner.plan(c, book, Optional.empty()), back, ConvertOptions.DEFAULTS,
                    ProgressListener.NONE, Cancellation.NEVER);
        }
        try (Checkpoint c = Checkpoint.open(back, book)) {
            for (TensorSpec t : List.of(w13, w2t)) {
                assertThat(c.tensor(t.key()).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE))
                        .isEqualTo(TestCheckpoints.bytes(t));
            }
        }
    }
}
