package dev.fusebox.converter.checkpoint;

import java.util.Collection;
import java.util.Optional;

/**
 * The model type told by key names alone, for a checkpoint or adapter that comes without a config. Only
 * unambiguous signatures count: Mixtral's {@code block_sparse_moe} with {@code w1}, or its v5 form (fused experts
 * under {@code mlp} with a plain router) without the markers of the families that share that form
 * (shared experts, q/k norms).
 */
public final class ModelTypeGuess {

    private ModelTypeGuess() {
    }

    public static Optional<String> fromKeys(Collection<String> keys) {
        boolean blockSparse = false;
        boolean w1 = false;
        boolean fused = false;
        boolean otherFamily = false;
        for (String k : keys) {
            blockSparse |= k.contains(".block_sparse_moe.");
            w1 |= k.contains(".w1.");
            fused |= k.contains(".mlp.experts.gate_up_proj") || k.contains(".mlp.experts.base_layer.lora_");
            otherFamily |= k.contains("shared_expert") || k.contains("q_norm") || k.contains("k_norm")
                    || k.contains("e_score_correction_bias") || k.contains(".router.");
        }
        if (blockSparse && w1) {
            return Optional.of("mixtral");
        }
        if (fused && !otherFamily) {
            return Optional.of("mixtral");
        }
        return Optional.empty();
    }
}
