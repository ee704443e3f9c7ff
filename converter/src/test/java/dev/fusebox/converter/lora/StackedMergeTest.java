package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.FloatCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Merging LoRA on experts that 4.x stored stacked already (target_parameters) into the base, on the adapters PEFT
 * 0.21 made on transformers 4.57 (resources lora/oracle; their bases are zeros, so the merged tensor is ΔW itself).
 * PEFT's ParamWrapper on 4.57 (no is_transposed) merges ΔW[e] = scale · B_e·A_e into parameter [E, d1, d2], with A
 * [E·r, d2] expert-major and B [d1, r·E] rank-major; the adapter converted to v5 (each factor the other transposed
 * for aria_text and gpt_oss) must merge to the same bytes. tools/oracle-merge-stacked.py checks both against PEFT's
 * own merge_and_unload on transformers 5.18.
 */
class StackedMergeTest {

    private static final int RANK = 4;
    private static final double SCALE = 2.0;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1}: {3}")
    @CsvSource({
            "granitemoe, experts_attention, model.layers.0.block_sparse_moe.input_linear, "
                    + "model.layers.0.block_sparse_moe.experts.gate_up_proj",
            "granitemoe, experts_attention, model.layers.1.block_sparse_moe.output_linear, "
                    + "model.layers.1.block_sparse_moe.experts.down_proj",
            "aria_text, experts_attention, model.layers.0.mlp.experts.fc1, model.layers.0.mlp.experts.gate_up_proj",
            "gpt_oss, experts_attention, model.layers.0.mlp.experts.base_layer, "
                    + "model.layers.0.mlp.experts.gate_up_proj",
            "gpt_oss, expert_biases, model.layers.1.mlp.experts.base_layer, model.layers.1.mlp.experts.down_proj",
    })
    void eachExpertGetsItsOwnDeltaAndTheConvertedAdapterMergesToTheSameBytes(String type, String variant,
                                                                             String module, String merged)
            throws Exception {
        OracleCase c = OracleCase.open(type, variant, tmp);
        Path out = tmp.resolve("merged");
        MergeFixtureTest.merge(c.base(), c.adapter(), out, Optional.of(Layout.V5));
        try (Checkpoint adapter = Checkpoint.open(c.adapter()); Checkpoint result = Checkpoint.open(out)) {
            StoredTensor a = adapter.tensor(AdapterTensors.key(module, 'A')).orElseThrow();
            StoredTensor b = adapter.tensor(AdapterTensors.key(module, 'B')).orElseThrow();
            StoredTensor w = result.tensor(merged).orElseThrow();
            long experts = w.shape().dim(0);
            long d1 = w.shape().dim(1);
            long d2 = w.shape().dim(2);
            for (long e = 0; e < experts; e++) {
                for (long i = 0; i < d1; i++) {
                    for (long j = 0; j < d2; j++) {
                        double want = 0;
                        for (long k = 0; k < RANK; k++) {
                            want += value(b, i * RANK * experts + k * experts + e) * value(a, (e * RANK + k) * d2 + j);
                        }
                        assertThat(value(w, (e * d1 + i) * d2 + j)).isCloseTo(SCALE * want, within(1e-6));
                    }
                }
            }
        }
        Path v5 = tmp.resolve("v5");
        AdapterFixtures.convert(c.adapter(), v5, Optional.of(c.base()), Optional.empty(), Optional.empty());
        Path fromV5 = tmp.resolve("merged-v5");
        MergeFixtureTest.merge(c.base(), v5, fromV5, Optional.of(Layout.V5));
        assertThat(Files.readAllBytes(fromV5.resolve("model.safetensors")))
                .isEqualTo(Files.readAllBytes(out.resolve("model.safetensors")));
    }

    @Test
    void aGptOssAdapterSquarePerExpertIsNotMergedForWantOfItsLayout() throws Exception {
        OracleCase c = OracleCase.open("gpt_oss_square", "gate_up", tmp);
        Path out = tmp.resolve("merged");
        assertThatThrownBy(() -> MergeFixtureTest.merge(c.base(), c.adapter(), out, Optional.empty()))
                .isInstanceOfSatisfying(FuseboxException.class, e -> assertThat(e.getMessage()).contains("cannot "
                        + "tell whether it was made on transformers 4 or 5: model.layers.0.mlp.experts.gate_up_proj "
                        + "[4, 64, 64] is square per expert"));
        assertThat(out).doesNotExist();
    }

    private static double value(StoredTensor t, long index) throws FuseboxException {
        return FloatCodec.get(t.data(), t.dtype(), index);
    }
}
