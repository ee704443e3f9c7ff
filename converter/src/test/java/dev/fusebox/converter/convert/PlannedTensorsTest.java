package dev.fusebox.converter.convert;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** An adapter's conversion read through its plan, computed targets included, is the bytes convert writes. */
class PlannedTensorsTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"legacy-lora-attn_experts", "legacy-lora-experts_gate_rslora"})
    void everyTargetAndAnyRangeOfItIsWhatConvertWrites(String name) throws Exception {
        Path out = dir.resolve("v5");
        SplittableRandom random = new SplittableRandom(11);
        try (Checkpoint adapter = Checkpoint.open(Fixtures.tiny(name))) {
            ConversionPlan plan = Conversions.plan(adapter, ConversionRequest.to(Layout.V5)
                    .withBase(Optional.of(Fixtures.tiny("legacy-base")))).plan();
            assertThat(plan.targets()).anySatisfy(t -> assertThat(t.recipe()).isInstanceOf(ComputedRecipe.class));
            Conversions.execute(adapter, plan, out, ConvertOptions.DEFAULTS, ProgressListener.NONE,
                    Cancellation.NEVER);
            try (Checkpoint written = Checkpoint.open(out); PlannedTensors planned = new PlannedTensors(adapter, plan)) {
                for (PlannedTarget t : plan.targets()) {
                    byte[] expected = written.tensor(t.key()).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE);
                    assertThat(planned.read(t.key(), 0, t.byteSize()).toArray(ValueLayout.JAVA_BYTE)).as(t.key())
                            .isEqualTo(expected);
                    int from = random.nextInt(expected.length);
                    int to = from + random.nextInt(expected.length - from + 1);
                    assertThat(planned.read(t.key(), from, to - from).toArray(ValueLayout.JAVA_BYTE))
                            .as(t.key()).isEqualTo(Arrays.copyOfRange(expected, from, to));
                }
                assertThat(planned.bytesRead()).isPositive();
            }
        }
    }
}
