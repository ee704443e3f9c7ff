package dev.fusebox.converter.forward;

import java.util.Optional;

/** A linear map without bias: a stored weight [out, in], plus a LoRA update when an adapter targets it. */
public record Linear(WeightMatrix weight, Optional<LoraDelta> lora) {

    public static Linear of(WeightMatrix weight) {
        return new Linear(weight, Optional.empty());
    }

    public int in() {
        return weight.cols();
    }

    public int out() {
        return weight.rows();
    }
}
