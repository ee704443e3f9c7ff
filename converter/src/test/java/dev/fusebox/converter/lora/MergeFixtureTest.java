package dev.fusebox.converter.lora;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.PlanExecutor;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.FloatCodec;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Merging into the base: the fixtures' v5-merged-*.float32 (merged by hand in the legacy layout, then fused). */
class MergeFixtureTest {

    @TempDir
    Path tmp;

    static List<String> names() {
        return AdapterFixtures.NAMES;
    }

    @ParameterizedTest
    @MethodSource("names")
    void theLegacyBaseWithTheLegacyAdapterMergedEqualsTheReferenceWithinFloat32Rounding(String name) throws Exception {
        Path out = tmp.resolve("merged");
        merge(Fixtures.tiny("legacy-base"), Fixtures.tiny("legacy-lora-" + name), out, Optional.of(Layout.V5));
        assertWithinRounding(out, Fixtures.tiny("v5-merged-" + name + ".float32.safetensors"));
    }

    @ParameterizedTest
    @MethodSource("names")
    void theConvertedAdapterMergedIntoTheV5BaseGivesTheSame(String name) throws Exception {
        Path adapter = tmp.resolve("v5-adapter");
        AdapterFixtures.convert(Fixtures.tiny("legacy-lora-" + name), adapter, Optional.empty(), Optional.empty(),
                Optional.empty());
        Path out = tmp.resolve("merged");
        merge(Fixtures.tiny("v5-base.float32.safetensors"), adapter, out, Optional.of(Layout.V5));
        assertWithinRounding(out, Fixtures.tiny("v5-merged-" + name + ".float32.safetensors"));
    }

    @Test
    void aV5AdapterMergedIntoTheLegacyBaseKeptLegacyConvertsToTheReference() throws Exception {
        Path adapter = tmp.resolve("v5-adapter");
        AdapterFixtures.convert(Fixtures.tiny("legacy-lora-experts_gate_rslora"), adapter, Optional.empty(),
                Optional.empty(), Optional.empty());
        Path legacy = tmp.resolve("legacy-merged");
        merge(Fixtures.tiny("legacy-base"), adapter, legacy, Optional.of(Layout.LEGACY));
        Path fused = tmp.resolve("fused");
        try (Checkpoint c = Checkpoint.open(legacy)) {
            PlanExecutor.execute(c, Planner.plan(c, RuleBook.bundled(), Optional.empty()), fused,
                    ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        assertWithinRounding(fused, Fixtures.tiny("v5-merged-experts_gate_rslora.float32.safetensors"));
    }

    static void merge(Path base, Path adapter, Path out, Optional<Layout> to) throws Exception {
        try (Checkpoint b = Checkpoint.open(base); Checkpoint a = Checkpoint.open(adapter)) {
            ConversionPlan plan = MergePlanner.plan(b, a, RuleBook.bundled(), to);
            PlanExecutor.execute(b, List.of(a), plan, out, ConvertOptions.DEFAULTS, ProgressListener.NONE,
                    Cancellation.NEVER);
        }
    }

    static void assertWithinRounding(Path actual, Path expected) throws Exception {
        try (Checkpoint a = Checkpoint.open(actual); Checkpoint e = Checkpoint.open(expected)) {
            assertThat(a.tensors().keySet()).containsExactlyInAnyOrderElementsOf(e.tensors().keySet());
            double worst = 0;
            for (StoredTensor want : e.tensors().values()) {
                StoredTensor got = a.tensor(want.key()).orElseThrow();
                assertThat(got.spec()).isEqualTo(want.spec());
                for (long i = 0; i < want.shape().elementCount(); i++) {
                    float w = (float) FloatCodec.get(want.data(), Dtype.F32, i);
                    float g = (float) FloatCodec.get(got.data(), Dtype.F32, i);
                    if (Math.abs(g - w) > Math.ulp(w)) {
                        throw new AssertionError(want.key() + "[" + i + "]: " + g + " but the reference has " + w);
                    }
                    worst = Math.max(worst, Math.abs(g - w));
                }
            }
            assertThat(worst).isLessThan(1e-5);
        }
    }
}
