package dev.fusebox.converter.convert;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The ground truth: what transformers 5.17 itself builds from the tiny legacy Mixtral, and back. */
class FixtureConversionTest {

    @TempDir
    Path tmp;

    @Test
    void theLegacyBaseConvertsToExactlyTheStateDictTransformersBuilds() throws Exception {
        Path out = tmp.resolve("v5");
        convert(Fixtures.tiny("legacy-base"), out, Optional.empty());
        try (Checkpoint converted = Checkpoint.open(out);
             Checkpoint reference = Checkpoint.open(Fixtures.tiny("v5-base.float32.safetensors"))) {
            assertThat(converted.layout()).isEqualTo(Layout.V5);
            assertSameTensors(converted, reference);
        }
        assertThat(Files.readString(out.resolve("config.json")))
                .isEqualTo(Files.readString(Fixtures.tiny("legacy-base").resolve("config.json")));
    }

    @Test
    void theV5StateDictConvertsBackToTheLegacyFileByteForByte() throws Exception {
        Path out = tmp.resolve("legacy");
        convert(Fixtures.tiny("v5-base.float32.safetensors"), out, Optional.empty());
        try (Checkpoint converted = Checkpoint.open(out);
             Checkpoint reference = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            assertThat(converted.layout()).isEqualTo(Layout.LEGACY);
            assertSameTensors(converted, reference);
        }
    }

    @Test
    void aRoundTripThroughV5GivesTheLegacyTensorsBack() throws Exception {
        Path v5 = tmp.resolve("v5");
        Path back = tmp.resolve("back");
        convert(Fixtures.tiny("legacy-base"), v5, Optional.of(Layout.V5));
        convert(v5, back, Optional.of(Layout.LEGACY));
        try (Checkpoint converted = Checkpoint.open(back);
             Checkpoint reference = Checkpoint.open(Fixtures.tiny("legacy-base"))) {
            assertSameTensors(converted, reference);
        }
    }

    static void convert(Path in, Path out, Optional<Layout> to) throws Exception {
        try (Checkpoint c = Checkpoint.open(in)) {
            ConversionPlan plan = Planner.plan(c, RuleBook.bundled(), to);
            PlanExecutor.execute(c, plan, out, ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
    }

    static void assertSameTensors(Checkpoint actual, Checkpoint expected) throws Exception {
        assertThat(actual.tensors().keySet()).containsExactlyInAnyOrderElementsOf(expected.tensors().keySet());
        for (StoredTensor e : expected.tensors().values()) {
            StoredTensor a = actual.tensor(e.key()).orElseThrow();
            assertThat(a.spec()).as(e.key()).isEqualTo(e.spec());
            assertThat(a.data().mismatch(e.data())).as("first differing byte of " + e.key()).isEqualTo(-1L);
        }
    }
}
