package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.fusebox.converter.FuseboxException;
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
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

/**
 * {@code --merge-adapter} against PEFT 0.21's own merge_and_unload() in float64 (resources lora/merge, made by
 * tools/make-merge-fixtures.py in the legacy world): DoRA on attention, a dense MLP, per-expert Linear modules and a
 * shared expert; DoRA with rsLoRA and patterns; LoRA and DoRA on the token embedding; lora_bias.
 */
class PeftMergeFixtureTest {

    @TempDir
    Path tmp;

    private static Path resource(String name) throws Exception {
        return Path.of(PeftMergeFixtureTest.class.getResource("merge/" + name).toURI());
    }

    @ParameterizedTest
    @ValueSource(strings = {"dora", "dora_rslora_patterns", "embedding", "dora_embedding", "lora_bias"})
    void mergedInFloat64EveryChangedTensorIsPeftsToOnePartIn1e12(String name) throws Exception {
        Path out = tmp.resolve("merged");
        MergeFixtureTest.merge(resource("base-float64"), resource("adapter-" + name), out, Optional.of(Layout.LEGACY));
        assertAgainstTruth(out, resource("base-float64"), name, Dtype.F64);
    }

    @ParameterizedTest
    @ValueSource(strings = {"dora", "dora_rslora_patterns", "embedding", "dora_embedding", "lora_bias", "jamba_mamba"})
    void mergedInFloat32EveryElementIsWithinOneUlpOfPeftsFloat64Merge(String name) throws Exception {
        Path out = tmp.resolve("merged");
        Path base = resource(name.startsWith("jamba") ? "base-jamba" : "base");
        MergeFixtureTest.merge(base, resource("adapter-" + name), out, Optional.of(Layout.LEGACY));
        assertAgainstTruth(out, base, name, Dtype.F32);
    }

    /** transformers 4 called jamba's dt_proj, so PEFT applied the legacy adapter's LoRA there: it is merged, said so. */
    @Test
    void aLegacyJambaAdaptersDtProjLoraIsMergedWithAWord() throws Exception {
        try (Checkpoint b = Checkpoint.open(resource("base-jamba"));
             Checkpoint a = Checkpoint.open(resource("adapter-jamba_mamba"))) {
            ConversionPlan plan = MergePlanner.plan(b, a, RuleBook.bundled(), Optional.of(Layout.V5));
            assertThat(plan.warnings()).contains("model.layers.1.mamba.dt_proj's LoRA is merged, as transformers 4 "
                    + "applied it to this legacy adapter; PEFT 0.21 on transformers 5 would leave it out (jamba reads "
                    + "model.layers.1.mamba.dt_proj.weight directly there), so the merged model computes what the "
                    + "adapter did when it was made");
        }
    }

    /** A v5 adapter (it has target_parameters): PEFT on transformers 5 never applies dt_proj's LoRA, nor does the merge. */
    @Test
    void aV5JambaAdaptersDtProjLoraIsLeftUnmergedAsPeftLeavesItOut() throws Exception {
        Path adapter = SyntheticAdapter.from(resource("adapter-jamba_mamba"))
                .config(c -> c.putArray("target_parameters").add("feed_forward.experts.down_proj"))
                .write(tmp.resolve("v5-jamba"));
        Path out = tmp.resolve("merged");
        try (Checkpoint b = Checkpoint.open(resource("base-jamba")); Checkpoint a = Checkpoint.open(adapter)) {
            ConversionPlan plan = MergePlanner.plan(b, a, RuleBook.bundled(), Optional.of(Layout.LEGACY));
            assertThat(plan.warnings()).contains("model.layers.1.mamba.dt_proj's LoRA is left unmerged, as PEFT "
                    + "leaves it out: jamba on transformers 5 reads model.layers.1.mamba.dt_proj.weight directly");
            PlanExecutor.execute(b, List.of(a), plan, out, ConvertOptions.DEFAULTS, ProgressListener.NONE,
                    Cancellation.NEVER);
        }
        try (Checkpoint m = Checkpoint.open(out); Checkpoint b = Checkpoint.open(resource("base-jamba"));
             Checkpoint t = Checkpoint.open(resource("truth-jamba_mamba.float64.safetensors"))) {
            String dt = "model.layers.1.mamba.dt_proj.weight";
            assertThat(m.tensor(dt).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE))
                    .isEqualTo(b.tensor(dt).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE));
            String x = "model.layers.1.mamba.x_proj.weight";
            assertThat(FloatCodec.get(m.tensor(x).orElseThrow().data(), Dtype.F32, 0))
                    .isCloseTo(FloatCodec.get(t.tensor(x).orElseThrow().data(), Dtype.F64, 0),
                            offset(1e-6));
        }
    }

    /**
     * DoRA on each expert's Linear modules merges into a v5 base exactly: each legacy weight is normalised whole
     * before the rules fuse it. The v5 result converted back to legacy is the legacy merge byte for byte, and merging
     * into the base converted to v5 first gives the same v5 tensors.
     */
    @ParameterizedTest
    @ValueSource(strings = {"dora", "embedding", "dora_embedding", "lora_bias", "jamba_mamba"})
    void mergedIntoV5AndConvertedBackItIsTheLegacyMergeByteForByte(String name) throws Exception {
        Path base = resource(name.startsWith("jamba") ? "base-jamba" : "base");
        Path legacy = tmp.resolve("legacy");
        MergeFixtureTest.merge(base, resource("adapter-" + name), legacy, Optional.of(Layout.LEGACY));
        Path v5 = tmp.resolve("v5");
        MergeFixtureTest.merge(base, resource("adapter-" + name), v5, Optional.of(Layout.V5));
        Path back = tmp.resolve("back");
        try (Checkpoint c = Checkpoint.open(v5)) {
            assertThat(c.layout()).isEqualTo(Layout.V5);
            PlanExecutor.execute(c, Planner.plan(c, RuleBook.bundled(), Optional.of(Layout.LEGACY)), back,
                    ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        assertSameTensors(back, legacy);
        // Into the base converted to v5 first, kept v5: each legacy weight's range of a fused tensor is merged.
        Path v5Base = tmp.resolve("v5-base");
        try (Checkpoint c = Checkpoint.open(base)) {
            PlanExecutor.execute(c, Planner.plan(c, RuleBook.bundled(), Optional.of(Layout.V5)), v5Base,
                    ConvertOptions.DEFAULTS, ProgressListener.NONE, Cancellation.NEVER);
        }
        Path intoV5 = tmp.resolve("into-v5");
        MergeFixtureTest.merge(v5Base, resource("adapter-" + name), intoV5, Optional.of(Layout.V5));
        assertSameTensors(intoV5, v5);
    }

    private static void assertSameTensors(Path actual, Path expected) throws Exception {
        try (Checkpoint a = Checkpoint.open(actual); Checkpoint b = Checkpoint.open(expected)) {
            assertThat(a.tensors().keySet()).containsExactlyInAnyOrderElementsOf(b.tensors().keySet());
            for (StoredTensor t : b.tensors().values()) {
                StoredTensor got = a.tensor(t.key()).orElseThrow();
                assertThat(got.spec().shape()).as(t.key()).isEqualTo(t.spec().shape());
                assertThat(got.data().toArray(ValueLayout.JAVA_BYTE)).as(t.key())
                        .isEqualTo(t.data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    @Test
    void aPlanSaysWhatItMergesDoraAsDora() throws Exception {
        try (Checkpoint b = Checkpoint.open(resource("base")); Checkpoint a = Checkpoint.open(resource("adapter-dora"))) {
            ConversionPlan plan = MergePlanner.plan(b, a, RuleBook.bundled(), Optional.of(Layout.V5));
            assertThat(plan.rules()).endsWith("merged into 16 tensors");
            assertThat(plan.targets().stream().map(t -> t.recipe().toString()))
                    .anySatisfy(s -> assertThat(s).contains("DoRA of model.layers.0.self_attn.q_proj (rank 4, scale 2)"));
        }
    }

    /** PEFT turns fan_in_fan_out off for Linear modules (and embeddings never read it): merged untransposed. */
    @Test
    void fanInFanOutIsMergedAsPeftAppliesItWithAWord() throws Exception {
        Path adapter = copyWithConfig("adapter-dora_embedding", "\"fan_in_fan_out\": false",
                "\"fan_in_fan_out\": true");
        try (Checkpoint b = Checkpoint.open(resource("base")); Checkpoint a = Checkpoint.open(adapter)) {
            assertThat(MergePlanner.plan(b, a, RuleBook.bundled(), Optional.of(Layout.LEGACY)).warnings())
                    .contains("adapter_config.json sets fan_in_fan_out, which PEFT turns off for Linear modules (and "
                            + "embeddings ignore), so the adapter is merged as PEFT applies it: without transposing");
        }
        Path out = tmp.resolve("merged");
        MergeFixtureTest.merge(resource("base"), adapter, out, Optional.of(Layout.LEGACY));
        assertAgainstTruth(out, resource("base"), "dora_embedding", Dtype.F32);
    }

    /** A v5 adapter's experts sit in PEFT's ParamWrapper, which refuses DoRA and lora_bias: so does the merge. */
    @ParameterizedTest
    @ValueSource(strings = {"use_dora", "lora_bias"})
    void doraOrLoraBiasWithAParameterWrapperIsRefusedWithPeftsReason(String flag) throws Exception {
        Path v5 = tmp.resolve("v5-adapter");
        AdapterFixtures.convert(Fixtures.tiny("legacy-lora-experts_gate"), v5, Optional.empty(), Optional.empty(),
                Optional.empty());
        Path adapter = SyntheticAdapter.from(v5).config(c -> c.put(flag, true)).write(tmp.resolve("flagged"));
        assertThatThrownBy(() -> MergeFixtureTest.merge(Fixtures.tiny("legacy-base"), adapter, tmp.resolve("o"),
                Optional.of(Layout.V5))).isInstanceOf(FuseboxException.class)
                .hasMessageContaining("raises \"lora.ParamWrapper does not work with " + flag + "=True.\"");
        assertThat(tmp.resolve("o")).doesNotExist();
    }

    @Test
    void doraAndLoraBiasTogetherAreRefusedWithPeftsReason() throws Exception {
        Path adapter = copyWithConfig("adapter-lora_bias", "\"use_dora\": false", "\"use_dora\": true");
        assertThatThrownBy(() -> MergeFixtureTest.merge(resource("base"), adapter, tmp.resolve("o"),
                Optional.of(Layout.V5))).isInstanceOf(FuseboxException.class)
                .hasMessageContaining("The argument lora_bias=True is not supported for DoRA");
        assertThat(tmp.resolve("o")).doesNotExist();
    }

    @Test
    void aMagnitudeWithoutUseDoraIsRefusedBeforeWriting() throws Exception {
        Path adapter = copyWithConfig("adapter-dora", "\"use_dora\": true", "\"use_dora\": false");
        assertThatThrownBy(() -> MergeFixtureTest.merge(resource("base"), adapter, tmp.resolve("o"),
                Optional.of(Layout.V5))).isInstanceOf(FuseboxException.class)
                .hasMessageContaining("does not set use_dora, so PEFT would not load it");
        assertThat(tmp.resolve("o")).doesNotExist();
    }

    @Test
    void aLoraBiasOnAModuleWithoutABiasIsRefusedAsPeftRefusesItsMerge() throws Exception {
        String oProj = AdapterTensors.PREFIX + "model.layers.0.self_attn.o_proj";
        Path adapter = SyntheticAdapter.from(resource("adapter-lora_bias"))
                .random(oProj + ".lora_A.weight", 7, 4, 16).random(oProj + ".lora_B.weight", 8, 16, 4)
                .random(oProj + ".lora_B.bias", 9, 16)
                .config(c -> ((ArrayNode) c.get("target_modules")).add("o_proj"))
                .write(tmp.resolve("o_proj-bias"));
        assertThatThrownBy(() -> MergeFixtureTest.merge(resource("base"), adapter, tmp.resolve("o"),
                Optional.of(Layout.V5))).isInstanceOf(FuseboxException.class)
                .hasMessageContaining("model.layers.0.self_attn.o_proj has no bias in the base")
                .hasMessageContaining("Impossible to merge LoRA with `lora_bias=True`");
        assertThat(tmp.resolve("o")).doesNotExist();
    }

    private Path copyWithConfig(String adapter, String from, String to) throws Exception {
        Path dir = tmp.resolve(adapter + "-edited");
        Files.createDirectories(dir);
        Files.copy(resource(adapter + "/adapter_model.safetensors"), dir.resolve("adapter_model.safetensors"));
        String cfg = Files.readString(resource(adapter + "/adapter_config.json"), StandardCharsets.UTF_8);
        assertThat(cfg).contains(from);
        Files.writeString(dir.resolve("adapter_config.json"), cfg.replace(from, to));
        return dir;
    }

    /**
     * The merged tensors against PEFT's float64 merge: in float64 within 1e-12 of each element's magnitude (or
     * 1e-15 absolute), in float32 within one float32 ulp; every tensor PEFT's merge left alone is the base's.
     */
    private static void assertAgainstTruth(Path merged, Path base, String name, Dtype dtype) throws Exception {
        try (Checkpoint m = Checkpoint.open(merged); Checkpoint t = Checkpoint.open(resource("truth-" + name
                + ".float64.safetensors")); Checkpoint b = Checkpoint.open(base)) {
            assertThat(m.tensors().keySet()).containsExactlyInAnyOrderElementsOf(b.tensors().keySet());
            assertThat(t.tensors()).isNotEmpty();
            double worst = 0;
            for (StoredTensor got : m.tensors().values()) {
                Optional<StoredTensor> truth = t.tensor(got.key());
                StoredTensor want = truth.orElseGet(() -> b.tensor(got.key()).orElseThrow());
                assertThat(got.spec().dtype()).isEqualTo(dtype);
                assertThat(got.shape()).as(got.key()).isEqualTo(want.shape());
                boolean changed = false;
                for (long i = 0; i < want.shape().elementCount(); i++) {
                    double w = FloatCodec.get(want.data(), want.spec().dtype(), i);
                    double g = FloatCodec.get(got.data(), dtype, i);
                    double before = FloatCodec.get(b.tensor(got.key()).orElseThrow().data(), dtype, i);
                    changed |= g != before;
                    double allowed = truth.isEmpty() ? 0 : dtype == Dtype.F64 ? Math.max(1e-12 * Math.abs(w), 1e-15)
                            : Math.ulp((float) w);
                    if (Math.abs(g - w) > allowed) {
                        throw new AssertionError(got.key() + "[" + i + "]: " + g + " but PEFT's merge gives " + w);
                    }
                    worst = Math.max(worst, truth.isEmpty() ? 0 : Math.abs(g - w) / Math.max(Math.abs(w), 1e-300));
                }
                assertThat(changed).as(got.key() + " changed").isEqualTo(truth.isPresent());
            }
            assertThat(worst).isLessThan(dtype == Dtype.F64 ? 1e-12 : 1.2e-7);
        }
    }
}
