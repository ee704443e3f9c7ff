package dev.fusebox.converter.forward;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What to verify: the source checkpoint (and adapter) against its conversion (and converted adapter), on the
 * given tokens (or {@link Verifier#defaultTokens}), over the first {@code layers} layers (or all).
 *
 * @param convertedAdapter absent with a source adapter when the conversion merged the adapter into the weights
 * @param memoryBytes      the memory the weights of both sides may take; more is refused as too large
 */
public record VerificationRequest(Path source, Optional<Path> sourceAdapter, Path converted,
                                  Optional<Path> convertedAdapter, List<Integer> tokens, OptionalInt layers,
                                  long memoryBytes) {

    public VerificationRequest {
        tokens = List.copyOf(tokens);
    }

    /** Source against conversion, default tokens, every layer, this machine's memory. */
    public static VerificationRequest of(Path source, Optional<Path> sourceAdapter, Path converted,
                                         Optional<Path> convertedAdapter) {
        return new VerificationRequest(source, sourceAdapter, converted, convertedAdapter, List.of(),
                OptionalInt.empty(), Verifier.physicalMemory());
    }

    public VerificationRequest withTokens(List<Integer> tokens) {
        return new VerificationRequest(source, sourceAdapter, converted, convertedAdapter, tokens, layers,
                memoryBytes);
    }

    public VerificationRequest withLayers(int layers) {
        return new VerificationRequest(source, sourceAdapter, converted, convertedAdapter, tokens,
                OptionalInt.of(layers), memoryBytes);
    }

    public VerificationRequest withMemory(long bytes) {
        return new VerificationRequest(source, sourceAdapter, converted, convertedAdapter, tokens, layers, bytes);
    }
}
