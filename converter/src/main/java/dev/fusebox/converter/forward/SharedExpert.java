package dev.fusebox.converter.forward;

/**
 * A MoE layer's shared expert, a gated MLP every token goes through beside the routed experts: its module name
 * under {@code mlp.} ({@code shared_expert} for Qwen2-MoE, {@code shared_experts} for GLM-4-MoE, dots1, Solar-Open
 * and ERNIE-4.5-MoE, {@code shared_mlp} for HunYuan-MoE), its width, and whether its output is scaled by the
 * sigmoid of a {@code shared_expert_gate} (Qwen2-MoE).
 */
public record SharedExpert(String module, int intermediate, boolean gated) {
}
