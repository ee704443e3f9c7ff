package dev.fusebox.converter.forward;

/** Whether and how attention RMS-normalises its queries and keys before RoPE. */
public enum QkNorm {
    /** Mixtral, Qwen2-MoE: not at all. */
    NONE,
    /** Qwen3-MoE: each head's [headDim] vector, one weight shared by the heads. */
    PER_HEAD,
    /** OLMoE: the whole projection's output per token, a weight per channel. */
    WHOLE
}
