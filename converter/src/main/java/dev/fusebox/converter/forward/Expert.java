package dev.fusebox.converter.forward;

/** One expert's MLP: {@code down(silu(gate(x)) · up(x))}. */
public record Expert(Linear gate, Linear up, Linear down) {
}
