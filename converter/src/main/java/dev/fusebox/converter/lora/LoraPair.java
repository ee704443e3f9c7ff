package dev.fusebox.converter.lora;

import dev.fusebox.converter.tensor.TensorSpec;

/** One module's LoRA factors as an adapter stores them: A [r, in] and B [out, r]. */
public record LoraPair(String module, TensorSpec a, TensorSpec b) {

    public int rank() {
        return Math.toIntExact(a.shape().dim(0));
    }

    public long in() {
        return a.shape().dim(1);
    }

    public long out() {
        return b.shape().dim(0);
    }
}
