package dev.fusebox.converter.forward;

import java.util.Optional;

/** A linear map without bias: a stored weight [out, in], plus a LoRA update when an adapter targets it. */
public record Linear(WeightMatrix weight, Optional<LoraDelta> lora) {
}
