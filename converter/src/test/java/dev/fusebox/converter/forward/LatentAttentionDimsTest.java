package dev.fusebox.converter.forward;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** What the latent-attention pass reads of a config, against YaRN's formulas worked by hand, and what it refuses. */
class LatentAttentionDimsTest {

    /** DeepSeek-V3's own attention and RoPE settings, as its config.json gives them. */
    private static final String DEEPSEEK_V3 = """
            {"model_type": "deepseek_v3", "hidden_size": 7168, "num_attention_heads": 128,
             "num_key_value_heads": 128, "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
             "qk_rope_head_dim": 64, "v_head_dim": 128, "rope_theta": 10000,
             "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                              "original_max_position_embeddings": 4096, "type": "yarn"}}""";

    private static ModelConfig config(String json) throws Exception {
        return ModelConfig.of(Path.of("config.json"), (ObjectNode) new ObjectMapper().readTree(json));
    }

    private static ModelConfig deepseek(String field, String value) throws Exception {
        ObjectNode raw = (ObjectNode) new ObjectMapper().readTree(DEEPSEEK_V3);
        raw.set(field, new ObjectMapper().readTree(value));
        return ModelConfig.of(Path.of("config.json"), raw);
    }

    @Test
    void deepSeekV3sYarnKeepsTheFastDimensionsInterpolatesTheSlowOnesAndScalesTheSoftmaxByTheSquaredMscale()
            throws Exception {
        LatentAttentionDims d = LatentAttentionDims.of(config(DEEPSEEK_V3));
        assertThat(d.qWidth()).isEqualTo(128 * 192);
        assertThat(d.compressedWidth()).isEqualTo(576);
        assertThat(d.kvWidth()).isEqualTo(128 * 256);
        assertThat(d.interleave()).isTrue();
        // correction range: floor(64 ln(4096 / (32 · 2π)) / (2 ln 10000)) = 10,
        // ceil(64 ln(4096 / 2π) / (2 ln 10000)) = 23
        float[] inv = d.rope().invFreq();
        assertThat(inv).hasSize(32);
        for (int i = 0; i <= 10; i++) {
            double kept = Math.pow(10000, -i / 32.0);
            assertThat((double) inv[i]).isCloseTo(kept, within(1e-6 * kept));
        }
        for (int i = 23; i < 32; i++) {
            double interpolated = Math.pow(10000, -i / 32.0) / 40;
            assertThat((double) inv[i]).isCloseTo(interpolated, within(1e-6 * interpolated));
        }
        double ramp = (16 - 10) / 13.0;
        double mixed = Math.pow(10000, -16 / 32.0) * ((1 - ramp) + ramp / 40);
        assertThat((double) inv[16]).isCloseTo(mixed, within(1e-6 * mixed));
        // mscale equals mscale_all_dim: cos and sin unscaled; the softmax scale times (0.1 ln 40 + 1)²
        assertThat(d.rope().attentionFactor()).isEqualTo(1f);
        double mscale = 0.1 * Math.log(40) + 1;
        assertThat(d.scale()).isCloseTo(mscale * mscale / Math.sqrt(192), within(1e-12));
    }

    @Test
    void plainRopeLeavesTheScaleAtTheHeadSize() throws Exception {
        LatentAttentionDims d = LatentAttentionDims.of(deepseek("rope_scaling", "null"));
        assertThat(d.scale()).isCloseTo(1 / Math.sqrt(192), within(1e-12));
        assertThat(d.rope().invFreq()[1]).isCloseTo((float) Math.pow(10000, -2 / 64.0), within(1e-9f));
    }

    @Test
    void aNullQLoraRankMeansOneQueryProjection() throws Exception {
        assertThat(LatentAttentionDims.of(deepseek("q_lora_rank", "null")).qLoraRank()).isZero();
    }

    @Test
    void ropeScalingItDoesNotImplementIsRefused() {
        assertThatThrownBy(() -> LatentAttentionDims.of(deepseek("rope_scaling",
                "{\"type\": \"linear\", \"factor\": 2}")))
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                    assertThat(e.getMessage()).contains("'linear' RoPE scaling");
                });
    }

    @Test
    void fewerKeyValueHeadsThanHeadsIsRefusedAsTransformersCannotRunIt() {
        assertThatThrownBy(() -> LatentAttentionDims.of(deepseek("num_key_value_heads", "16")))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.INVALID_CONFIG));
    }

    @Test
    void aPartialRotaryFactorIsRefused() {
        assertThatThrownBy(() -> LatentAttentionDims.of(deepseek("rope_parameters",
                "{\"rope_type\": \"default\", \"rope_theta\": 10000, \"partial_rotary_factor\": 0.5}")))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED));
    }

    @Test
    void yarnWithoutItsFactorIsRefused() {
        assertThatThrownBy(() -> LatentAttentionDims.of(deepseek("rope_scaling",
                "{\"type\": \"yarn\", \"original_max_position_embeddings\": 4096}")))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.INVALID_CONFIG));
    }

    @Test
    void glmsMlpLayerTypesNameTheDenseLayersAndAShortListIsRefused() throws Exception {
        String glm = "{\"model_type\": \"glm4_moe_lite\", \"num_hidden_layers\": 3, ";
        assertThat(ModelDims.of(config(glm + "\"mlp_layer_types\": [\"sparse\", \"dense\", \"sparse\"]}"))
                .denseLayers()).containsExactly(1);
        assertThat(ModelDims.of(config(glm + "\"q_lora_rank\": null}")).denseLayers()).containsExactly(0);
        assertThatThrownBy(() -> ModelDims.of(config(glm + "\"mlp_layer_types\": [\"dense\", \"sparse\"]}")))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.INVALID_CONFIG));
    }

    @Test
    void glmReadsHeadDimAsTheRopeDimensionsAndRefusesTwoDifferentOnes() throws Exception {
        String glm = "{\"model_type\": \"glm4_moe_lite\", ";
        assertThat(LatentAttentionDims.of(config(glm + "\"head_dim\": 32}")).qkRopeHeadDim()).isEqualTo(32);
        assertThatThrownBy(() -> LatentAttentionDims.of(
                config(glm + "\"head_dim\": 32, \"qk_rope_head_dim\": 64}")))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.INVALID_CONFIG));
    }

    @Test
    void moreTokensThanGlmMoeDsasIndexKeepsAreRefusedAndUpToThatManyRun() throws Exception {
        FamilyReference ref = FamilyReference.of("glm_moe_dsa");
        try (Checkpoint source = Checkpoint.open(ref.legacy(), RuleBook.bundled())) {
            ModelWeights w = ModelWeights.open(source, source.config().orElseThrow(), Optional.empty());
            assertThat(w.dims().latentAttention().orElseThrow().indexTopK()).isEqualTo(16);
            assertThat(new ForwardPass(w).run(new int[16], 1, ProgressListener.NONE, Cancellation.NEVER).positions())
                    .isEqualTo(16);
            assertThatThrownBy(() -> new ForwardPass(w).run(new int[17], 1, ProgressListener.NONE, Cancellation.NEVER))
                    .isInstanceOfSatisfying(FuseboxException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
                        assertThat(e.getMessage()).contains("index_topk", "at most 16 tokens");
                    });
        }
    }

    @Test
    void aGlmMoeDsaWhoseFirstLayerReusesAnIndexerIsRefused() {
        assertThatThrownBy(() -> LatentAttentionDims.of(config(
                "{\"model_type\": \"glm_moe_dsa\", \"index_topk_pattern\": \"SFFF\"}")))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.INVALID_CONFIG));
    }

    @Test
    void deepSeekV2sTopKMethodsWithoutWeightsAndItsMlpBiasAreRefused() {
        String v2 = "{\"model_type\": \"deepseek_v2\", \"num_experts_per_tok\": 6, ";
        assertThatThrownBy(() -> ModelDims.of(config(v2 + "\"topk_method\": \"noaux_tc\"}")))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.INVALID_CONFIG));
        assertThatThrownBy(() -> ModelDims.of(config(v2 + "\"topk_method\": \"group_limited_greedy\"}")))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.getMessage()).contains("n_group"));
        assertThatThrownBy(() -> ModelDims.of(config(v2 + "\"mlp_bias\": true}")))
                .isInstanceOfSatisfying(FuseboxException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED));
    }
}
