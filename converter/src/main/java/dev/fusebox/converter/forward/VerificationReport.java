package dev.fusebox.converter.forward;

import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.tensor.Dtype;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The outcome of a verification, for the CLI and the GUI: pass or fail, which checks ran, and for the forward pass
 * (Mixtral) how far the hidden states drifted after every layer, what each side's router chose, and per position
 * the logits' difference and both sides' top-5 tokens; for the expert-level check (every family) each expert's and
 * router's difference. Without a forward pass, the forward pass's lists are empty.
 *
 * @param forwardPass    whether the forward pass ran (it implements {@link ModelDims#FAMILIES} only)
 * @param experts        the expert-level check
 * @param tolerance      the largest logit difference that passed (see {@link Tolerance})
 * @param maxAbsDiff     the largest absolute difference of any logit
 * @param layers         one entry per layer run
 * @param positions      one entry per token position
 * @param sourceLogits   the source side's logits [position][vocab]
 * @param convertedLogits the converted side's logits [position][vocab]
 * @param failures       why it failed, one sentence each; empty when it passed
 */
public record VerificationReport(boolean passed, boolean forwardPass, ExpertCheckResult experts,
                                 double tolerance, double maxAbsDiff, List<Integer> tokens,
                                 int layersRun, int layersTotal, List<LayerComparison> layers,
                                 List<PositionComparison> positions, Side source, Side converted,
                                 float[][] sourceLogits, float[][] convertedLogits, List<String> failures) {

    public VerificationReport {
        tokens = List.copyOf(tokens);
        layers = List.copyOf(layers);
        positions = List.copyOf(positions);
        failures = List.copyOf(failures);
    }

    /** Positions whose top-1 token is the same on both sides. */
    public int top1Agreement() {
        return (int) positions.stream().filter(PositionComparison::top1Agrees).count();
    }

    /** Tokens both sides have in their top-5, summed over positions (at most 5 per position). */
    public int top5Agreement() {
        return positions.stream().mapToInt(PositionComparison::top5Overlap).sum();
    }

    /** Layer × position pairs where both routers chose the same experts. */
    public int routerAgreement() {
        return layers.stream().mapToInt(LayerComparison::routerAgreement).sum();
    }

    /** Layer × position pairs compared for router agreement (a dense layer has no router). */
    public int routerDecisions() {
        return (int) layers.stream().filter(l -> !l.dense()).count() * tokens.size();
    }

    /**
     * One layer: the largest difference of the residual stream after it and the largest that passes, the largest
     * difference of its router logits, and the experts each side's router chose per position (ascending); for a
     * {@code dense} layer (a dense MLP in place of the experts) there is no router, and no experts chosen.
     */
    public record LayerComparison(int index, double maxAbsDiff, double tolerance, double routerLogitsMaxAbsDiff,
                                  int routerAgreement, List<int[]> sourceExperts, List<int[]> convertedExperts,
                                  boolean dense) {

        public LayerComparison {
            sourceExperts = List.copyOf(sourceExperts);
            convertedExperts = List.copyOf(convertedExperts);
        }
    }

    /** One position: its logits' largest difference and both sides' five best tokens, best first. */
    public record PositionComparison(int position, int token, double maxAbsDiff, boolean top1Agrees,
                                     int top5Overlap, List<TokenLogit> sourceTop5, List<TokenLogit> convertedTop5) {

        public PositionComparison {
            sourceTop5 = List.copyOf(sourceTop5);
            convertedTop5 = List.copyOf(convertedTop5);
        }
    }

    public record TokenLogit(int token, float logit) {
    }

    /**
     * What one side ran: its files (for a conversion read through its plan, the source's), layout, weight dtype,
     * the bytes of weights it read from its files and how long its checks took.
     */
    public record Side(Path model, Layout layout, boolean throughPlan, Optional<Path> adapter, Dtype dtype,
                       long weightBytesRead, long nanos) {
    }

    /** Which checks ran, in words: "forward pass and expert check" or "expert check". */
    public String checks() {
        return !forwardPass ? "expert check" : experts.skipped().isPresent()
                ? "forward pass (no expert check: " + experts.skipped().get() + ")" : "forward pass and expert check";
    }
}
