package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.lora.AdapterPlan;
import dev.fusebox.converter.lora.AdapterPlanner;
import dev.fusebox.converter.lora.MergePlanner;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The engine's one way to convert an input, whatever it is: a model (the family's rules), a LoRA adapter (fused or
 * cut factors, rewritten config) or a model with an adapter merged in. The command line and the desktop app both
 * plan and execute through here, with the rules the input was opened with.
 */
public final class Conversions {

    private Conversions() {
    }

    /**
     * The plan that converts {@code input} as {@code request} asks. Refuses a request whose options do not apply
     * to the input (a base or a dtype for a model, a dtype for a merge) as {@link Problem#UNSUPPORTED}, a user's error.
     */
    public static PlannedConversion plan(Checkpoint input, ConversionRequest request) throws FuseboxException {
        if (request.dequantize() && (request.mergeAdapter().isPresent() || input.kind() == CheckpointKind.ADAPTER)) {
            throw new FuseboxException(Problem.UNSUPPORTED, null, "dequantizing applies to a model's own conversion, not to an "
                    + "adapter or a merge", Remedy.DEQUANTIZE);
        }
        if (request.mergeAdapter().isPresent()) {
            if (request.dtype().isPresent()) {
                throw new FuseboxException(Problem.UNSUPPORTED, null, "a factor dtype applies to adapter conversions; a merged "
                        + "model keeps its base dtype", Remedy.FACTOR_DTYPE);
            }
            if (request.base().isPresent()) {
                throw new FuseboxException(Problem.UNSUPPORTED, null, "a base model is for converting an adapter; merging one "
                        + "takes the input itself as its base", Remedy.BASE_MODEL);
            }
            try (Checkpoint adapter = Checkpoint.open(request.mergeAdapter().get(), input.ruleBook())) {
                return new PlannedConversion(MergePlanner.plan(input, adapter, input.ruleBook(), request.to()),
                        Optional.empty());
            }
        }
        if (input.kind() == CheckpointKind.ADAPTER) {
            AdapterPlan ap = AdapterPlanner.plan(input, request.base(), input.ruleBook(), request.to(),
                    request.dtype());
            return new PlannedConversion(ap.plan(), Optional.of(ap));
        }
        if (request.base().isPresent() || request.dtype().isPresent()) {
            throw new FuseboxException(Problem.UNSUPPORTED, null, (request.base().isPresent() ? "a base model" : "a factor "
                    + "dtype") + " applies to adapter conversions; the input is a model", request.base().isPresent()
                    ? Remedy.BASE_MODEL : Remedy.FACTOR_DTYPE);
        }
        return new PlannedConversion(Planner.plan(input, input.ruleBook(), request.to(), request.dequantize()),
                Optional.empty());
    }

    /**
     * Executes {@code plan} of {@code input} into {@code out}, opening the other inputs the plan reads (an adapter
     * being merged) with the input's rules for the time it runs. Refuses before writing when the file system of
     * {@code out} has less free space than the plan writes.
     */
    public static ConversionResult execute(Checkpoint input, ConversionPlan plan, Path out, ConvertOptions options,
                                           ProgressListener listener, Cancellation cancellation)
            throws FuseboxException {
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            FreeSpace.require(parent, plan.targetBytes(), "the conversion");
        }
        List<Checkpoint> others = new ArrayList<>();
        try {
            for (Path p : plan.otherInputs()) {
                others.add(Checkpoint.open(p, input.ruleBook()));
            }
            return PlanExecutor.execute(input, others, plan, out, options, listener, cancellation);
        } finally {
            others.forEach(Checkpoint::close);
        }
    }
}
