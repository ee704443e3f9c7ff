package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.lora.PeftVerdict;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.testsupport.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConversionsTest {

    private static final Path BASE = Fixtures.tiny("legacy-base");
    private static final Path ADAPTER = Fixtures.tiny("legacy-lora-attn_experts");

    @TempDir
    Path dir;

    @Test
    void aModelIsPlannedByItsFamilysRulesWithNoAdapterStory() throws Exception {
        try (Checkpoint c = Checkpoint.open(BASE)) {
            PlannedConversion p = Conversions.plan(c, ConversionRequest.DEFAULT);
            assertThat(p.plan().to()).isEqualTo(Layout.V5);
            assertThat(p.plan().targets()).hasSize(21);
            assertThat(p.adapter()).isEmpty();
            assertThat(p.peftCheck()).isEmpty();
        }
    }

    @Test
    void anAdapterIsPlannedAsAnAdapterWithItsPeftCheck() throws Exception {
        try (Checkpoint c = Checkpoint.open(ADAPTER)) {
            PlannedConversion p = Conversions.plan(c, ConversionRequest.to(Layout.V5).withBase(Optional.of(BASE)));
            assertThat(p.plan().to()).isEqualTo(Layout.V5);
            assertThat(p.plan().weightsName()).isEqualTo(Checkpoint.ADAPTER_WEIGHTS);
            assertThat(p.plan().target("base_model.model.model.layers.0.mlp.experts.base_layer.lora_A.weight"))
                    .hasValueSatisfying(t -> assertThat(t.recipe()).isInstanceOf(ComputedRecipe.class));
            assertThat(p.peftCheck()).hasValueSatisfying(v ->
                    assertThat(v.outcome()).isEqualTo(PeftVerdict.Outcome.LOADS_EXACTLY));
        }
    }

    @Test
    void aMergeReadsTheAdapterBesideTheBaseAndExecutesWithIt() throws Exception {
        try (Checkpoint c = Checkpoint.open(BASE)) {
            PlannedConversion p = Conversions.plan(c, ConversionRequest.DEFAULT.withMergeAdapter(Optional.of(ADAPTER)));
            assertThat(p.plan().otherInputs()).containsExactly(ADAPTER.toAbsolutePath().normalize());
            ConversionResult r = Conversions.execute(c, p.plan(), dir.resolve("merged"), ConvertOptions.DEFAULTS,
                    ProgressListener.NONE, Cancellation.NEVER);
            assertThat(r.tensors()).isEqualTo(21);
        }
        try (Checkpoint merged = Checkpoint.open(dir.resolve("merged"))) {
            assertThat(merged.layout()).isEqualTo(Layout.V5);
        }
    }

    @Test
    void optionsThatDoNotApplyToTheInputAreRefused() throws Exception {
        try (Checkpoint c = Checkpoint.open(BASE)) {
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT.withBase(Optional.of(BASE))))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> assertThat(e.remedy()).contains(Remedy.BASE_MODEL))
                    .hasMessage("a base model applies to adapter conversions; the input is a model");
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT.withMergeAdapter(Optional.of(ADAPTER))
                    .withDtype(Optional.of(Dtype.F64))))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> assertThat(e.remedy()).contains(Remedy.FACTOR_DTYPE))
                    .hasMessage("a factor dtype applies to adapter conversions; a merged model keeps its base dtype");
            assertThatThrownBy(() -> Conversions.plan(c, ConversionRequest.DEFAULT.withMergeAdapter(Optional.of(ADAPTER))
                    .withBase(Optional.of(BASE))))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> assertThat(e.remedy()).contains(Remedy.BASE_MODEL))
                    .hasMessage("a base model is for converting an adapter; merging one takes the input itself as its "
                            + "base");
        }
    }
}
