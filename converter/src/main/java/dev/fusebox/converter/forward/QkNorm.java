package dev.fusebox.converter.forward;

/** Whether and how attention RMS-normalises its queries and keys, and the names of the two norms' weights. */
public enum QkNorm {
    /** Mixtral, Qwen2-MoE, ERNIE-4.5-MoE: not at all. */
    NONE,
    /** Qwen3-MoE, GLM-4-MoE, dots1: each head's [headDim] vector before RoPE, one weight shared by the heads. */
    PER_HEAD,
    /** OLMoE, MiniMax-M2: the whole projection's output per token before RoPE, a weight per channel. */
    WHOLE,
    /** HunYuan-MoE: each head's vector after RoPE, as {@code query_layernorm} and {@code key_layernorm}. */
    PER_HEAD_AFTER_ROPE;

    public String queryNorm() {
        return this == PER_HEAD_AFTER_ROPE ? "query_layernorm" : "q_norm";
    }

    public String keyNorm() {
        return this == PER_HEAD_AFTER_ROPE ? "key_layernorm" : "k_norm";
    }

    /** Whether each head is normalised on its own, with a [headDim] weight. */
    public boolean perHead() {
        return this == PER_HEAD || this == PER_HEAD_AFTER_ROPE;
    }
}
