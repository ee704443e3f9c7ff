package dev.fusebox.converter.forward;

import dev.fusebox.converter.convert.TemporaryConversion;
import dev.fusebox.converter.rules.RuleBook;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What to verify: the source checkpoint (and adapter) against its conversion (and converted adapter), on the
 * given tokens (or {@link Verifier#defaultTokens}), over the first {@code layers} layers (or all).
 *
 * @param converted        the conversion on disk; absent to read the conversion through its plan, unwritten
 * @param convertedAdapter absent with a source adapter when the conversion merged the adapter into the weights,
 *                         or, with {@code converted} absent, to have the adapter converted for the purpose
 * @param memoryBytes      the memory the weights of both sides may take; more is refused as too large
 * @param rules            the rules the conversion read through its plan follows (the installed ones when absent)
 * @param temporaryFolder  where an adapter converted for the purpose is written, and removed afterwards
 */
public record VerificationRequest(Path source, Optional<Path> sourceAdapter, Optional<Path> converted,
                                  Optional<Path> convertedAdapter, List<Integer> tokens, OptionalInt layers,
                                  long memoryBytes, Optional<RuleBook> rules, Path temporaryFolder) {

    public VerificationRequest {
        tokens = List.copyOf(tokens);
    }

    /** Source against conversion, default tokens, every layer, this machine's memory. */
    public static VerificationRequest of(Path source, Optional<Path> sourceAdapter, Path converted,
                                         Optional<Path> convertedAdapter) {
        return new VerificationRequest(source, sourceAdapter, Optional.of(converted), convertedAdapter, List.of(),
                OptionalInt.empty(), Verifier.physicalMemory(), Optional.empty(),
                TemporaryConversion.systemTemporaryFolder());
    }

    /** Source against its conversion read through the plan, nothing written but a converted adapter. */
    public static VerificationRequest throughPlan(Path source, Optional<Path> sourceAdapter) {
        return new VerificationRequest(source, sourceAdapter, Optional.empty(), Optional.empty(), List.of(),
                OptionalInt.empty(), Verifier.physicalMemory(), Optional.empty(),
                TemporaryConversion.systemTemporaryFolder());
    }

    public VerificationRequest withTokens(List<Integer> tokens) {
        return new VerificationRequest(source, sourceAdapter, converted, convertedAdapter, tokens, layers,
                memoryBytes, rules, temporaryFolder);
    }

    public VerificationRequest withLayers(int layers) {
        return new VerificationRequest(source, sourceAdapter, converted, convertedAdapter, tokens,
                OptionalInt.of(layers), memoryBytes, rules, temporaryFolder);
    }

    public VerificationRequest withMemory(long bytes) {
        return new VerificationRequest(source, sourceAdapter, converted, convertedAdapter, tokens, layers, bytes,
                rules, temporaryFolder);
    }

    public VerificationRequest withRules(RuleBook book) {
        return new VerificationRequest(source, sourceAdapter, converted, convertedAdapter, tokens, layers,
                memoryBytes, Optional.of(book), temporaryFolder);
    }

    public VerificationRequest withConvertedAdapter(Optional<Path> adapter) {
        return new VerificationRequest(source, sourceAdapter, converted, adapter, tokens, layers, memoryBytes, rules,
                temporaryFolder);
    }

    public VerificationRequest withTemporaryFolder(Path folder) {
        return new VerificationRequest(source, sourceAdapter, converted, convertedAdapter, tokens, layers,
                memoryBytes, rules, folder);
    }
}
