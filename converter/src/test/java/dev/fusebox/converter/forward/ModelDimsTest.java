package dev.fusebox.converter.forward;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.ModelConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What the pass reads of the new families' configs, the defaults of transformers 5.18, and what it refuses. */
class ModelDimsTest {

    private static ModelDims dims(String json) throws Exception {
        return ModelDims.of(ModelConfig.of(Path.of("config.json"), (ObjectNode) new ObjectMapper().readTree(json)));
    }

    private static void refused(String json, Problem problem, String... words) {
        assertThatThrownBy(() -> dims(json)).isInstanceOfSatisfying(FuseboxException.class,
                e -> assertThat(e.problem()).isEqualTo(problem)).hasMessageContainingAll(words);
    }

    @Test
    void glm4MoeTurnsHalfOfEachHeadByDefaultAndRoutesInGroups() throws Exception {
        ModelDims d = dims("""
                {"model_type": "glm4_moe", "hidden_size": 64, "num_attention_heads": 4, "head_dim": 16,
                 "n_routed_experts": 8, "num_experts_per_tok": 2, "n_group": 2, "topk_group": 1,
                 "routed_scaling_factor": 2.5, "num_hidden_layers": 3}""");
        assertThat(d.rotaryDim()).isEqualTo(8);
        assertThat(d.router()).isEqualTo(new GroupLimitedSigmoidRouter(8, 2, 2, 1, true, 2.5));
        assertThat(d.denseLayers()).containsExactly(0);
        assertThat(d.sharedExpert()).contains(new SharedExpert("shared_experts", 1408, false));
        assertThat(d.correctionBias()).isEqualTo(CorrectionBias.ROUTER);
    }

    @Test
    void miniMaxM2TakesItsRotaryDim() throws Exception {
        ModelDims d = dims("""
                {"model_type": "minimax_m2", "head_dim": 128, "rotary_dim": 64, "num_local_experts": 4,
                 "num_experts_per_tok": 2}""");
        assertThat(d.rotaryDim()).isEqualTo(64);
        assertThat(d.qkNorm()).isEqualTo(QkNorm.WHOLE);
        assertThat(d.correctionBias()).isEqualTo(CorrectionBias.MOE_BLOCK);
    }

    @Test
    void ernieHasItsMoeLayerRangeAndTiedEmbeddingsByDefault() throws Exception {
        ModelDims d = dims("""
                {"model_type": "ernie4_5_moe", "num_hidden_layers": 6, "moe_num_experts": 8, "moe_k": 2,
                 "moe_layer_start_index": 1, "moe_layer_end_index": 4, "moe_layer_interval": 2}""");
        assertThat(d.denseLayers()).containsExactly(0, 2, 4, 5);
        assertThat(d.tieWordEmbeddings()).isTrue();
        assertThat(d.ropeInterleaved()).isTrue();
        assertThat(d.router()).isEqualTo(new SoftmaxRouter(8, 2, true, 1e-12));
    }

    @Test
    void dots1WithoutLayerTypesAndANullWindowIsFullAttention() throws Exception {
        ModelDims d = dims("""
                {"model_type": "dots1", "n_routed_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": 1,
                 "num_hidden_layers": 4, "max_window_layers": 2, "sliding_window": null}""");
        assertThat(d.slidingWindow()).isZero();
        assertThat(d.biased()).isEmpty();
    }

    @Test
    void whatThePassDoesNotImplementIsRefused() {
        refused("""
                {"model_type": "dots1", "n_routed_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": 1,
                 "num_hidden_layers": 2, "layer_types": ["full_attention", "sliding_attention"]}""",
                Problem.UNSUPPORTED, "sliding_attention", "full attention only");
        refused("""
                {"model_type": "dots1", "n_routed_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": 1,
                 "num_hidden_layers": 4, "max_window_layers": 2}""", Problem.UNSUPPORTED,
                "layers from 2 on sliding-window attention", "4096 by default");
        refused("""
                {"model_type": "hunyuan_v1_moe", "num_experts": 4, "moe_topk": [2, 1]}""", Problem.UNSUPPORTED,
                "moe_topk per layer");
        refused("""
                {"model_type": "ernie4_5_moe", "use_bias": true}""", Problem.UNSUPPORTED, "use_bias");
        refused("""
                {"model_type": "glm4_moe", "n_routed_experts": 8, "n_group": 3}""", Problem.INVALID_CONFIG,
                "8 experts in 3 groups");
        refused("""
                {"model_type": "dots1", "n_routed_experts": 8, "n_shared_experts": 1}""", Problem.INVALID_CONFIG,
                "leaves out num_experts_per_tok");
        refused("""
                {"model_type": "glm4_moe", "n_group": 0}""", Problem.INVALID_CONFIG, "n_group 0");
        refused("""
                {"model_type": "glm4_moe", "rope_parameters": {"rope_type": "yarn", "factor": 4}}""",
                Problem.UNSUPPORTED, "'yarn' RoPE scaling");
    }
}
