package dev.fusebox.viewmodel.detail;

import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.viewmodel.browse.TreeRow;

import java.util.List;
import java.util.Optional;

/**
 * Where the block scale of a fine-grained FP8 weight sits in the tree: beside it, under the key transformers pairs
 * with it ({@code X.weight} → {@code X.weight_scale_inv}, a fused {@code gate_up_proj} → {@code
 * gate_up_proj_scale_inv}), or DeepSeek-V4's {@code X.scale}.
 */
final class Fp8Scales {

    private Fp8Scales() {
    }

    /** The scale row of {@code weight}, when it is an F8_E4M3 tensor with one. */
    static Optional<TreeRow> of(TreeRow weight) {
        if (!weight.isTensor() || weight.spec().orElseThrow().dtype() != Dtype.F8_E4M3) {
            return Optional.empty();
        }
        String key = weight.path();
        List<String> names = key.endsWith(".weight")
                ? List.of(key + "_scale_inv", key.substring(0, key.length() - "weight".length()) + "scale")
                : List.of(key + "_scale_inv");
        return weight.parent().stream().flatMap(p -> p.children().stream())
                .filter(c -> c.isTensor() && names.contains(c.path()))
                .findFirst();
    }
}
