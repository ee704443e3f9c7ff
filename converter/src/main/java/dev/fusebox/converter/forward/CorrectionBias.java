package dev.fusebox.converter.forward;

/** Where a family keeps its routers' {@code e_score_correction_bias}, which shifts the choice of experts. */
public enum CorrectionBias {
    /** Mixtral, Qwen-MoE, OLMoE: no bias. */
    NONE,
    /**
     * GLM-4-MoE, dots1, Solar-Open, DeepSeek-V3: {@code mlp.gate.e_score_correction_bias} [experts] in both
     * layouts.
     */
    ROUTER,
    /**
     * MiniMax-M2: on the MoE block, {@code block_sparse_moe.e_score_correction_bias} (legacy) or
     * {@code mlp.e_score_correction_bias} (v5), [experts].
     */
    MOE_BLOCK,
    /**
     * ERNIE-4.5-MoE: {@code mlp.moe_statics.e_score_correction_bias} (legacy) or
     * {@code mlp.gate.moe_statics.e_score_correction_bias} (v5), [1, experts].
     */
    MOE_STATICS
}
