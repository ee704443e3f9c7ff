package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Converts an adapter of a born-fused family (gpt_oss) either way. Its experts are the same stacked parameters in
 * every transformers version ({@code experts.gate_up_proj} [E, H, 2I], read as {@code x @ W[e]}), so a 4.x adapter
 * reaches them through target_parameters under the names a v5 one has; but only v5's experts say
 * {@code is_transposed}, so PEFT 0.21's ParamWrapper makes A [E·r, 2I] and B [H, r·E] of gate_up_proj on 4.x and
 * A' [E·r, H], B' [2I, r·E] on v5: each factor becomes the other one transposed expert by expert
 * ({@link TransposedExpertFactors}), in both directions, while names, config and every 2-D parameter's LoRA (the
 * router's weight, the experts' biases: no swap there) stay as they are. Which layout the adapter is in its factors'
 * shapes tell, against the base's parameters, unless every such parameter is square per expert.
 */
final class BornFusedExperts {

    /**
     * Per born-fused model type, its experts module's parameters in the order the module registers them, which is
     * the order PEFT nests their wrappers in (checked with PEFT 0.21 on transformers 4.57.6 and 5.18).
     */
    private static final Map<String, List<String>> EXPERTS = Map.of("gpt_oss",
            List.of("gate_up_proj", "gate_up_proj_bias", "down_proj", "down_proj_bias"));

    /** Any other module's parameters in registration order (nn.Linear's, gpt_oss's TopKRouter's). */
    private static final List<String> WEIGHT_THEN_BIAS = List.of("weight", "bias");

    private BornFusedExperts() {
    }

    /** A born-fused type's experts module's parameters in registration order, when it is one. */
    static Optional<List<String>> expertsOrder(String modelType) {
        return Optional.ofNullable(EXPERTS.get(modelType));
    }

    /** A LoRA pair on a stacked [E, d1, d2] parameter. */
    private record Stacked(LoraPair pair, String parameter, long experts, long d1, long d2) {

        /** 4.x's factors (no is_transposed: in and out swapped): A [E·r, d2], B [d1, r·E]. */
        boolean fitsLegacy() {
            return fits(d2, d1);
        }

        /** v5's factors (is_transposed): A [E·r, d1], B [d2, r·E]. */
        boolean fitsV5() {
            return fits(d1, d2);
        }

        private boolean fits(long in, long out) {
            return pair.a().shape().dim(0) % experts == 0 && pair.in() == in && pair.out() == out;
        }

        int rank() {
            return Math.toIntExact(pair.a().shape().dim(0) / experts);
        }
    }

    static AdapterPlan plan(Checkpoint adapter, AdapterConfig config, AdapterTensors tensors, LoraRoles roles,
                            Optional<BaseModel> base, Optional<Layout> to, Optional<Dtype> dtype)
            throws FuseboxException {
        Path file = adapter.location();
        String type = roles.modelType();
        if (base.isEmpty()) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, "is a " + type + " adapter, whose layout only the "
                    + "base model's expert shapes tell (its names are the same in every transformers version); "
                    + "name the base model");
        }
        List<Stacked> stacked = stacked(file, config, tensors, type, base.get());
        boolean legacy = stacked.stream().anyMatch(s -> s.fitsLegacy() && !s.fitsV5());
        boolean v5 = stacked.stream().anyMatch(s -> s.fitsV5() && !s.fitsLegacy());
        if (legacy && v5) {
            throw new FuseboxException(Problem.MIXED_LAYOUT, file, "its experts' LoRA factors have 4.x's shapes on "
                    + "some parameters and transformers 5's on others");
        }
        if (stacked.isEmpty()) {
            return copy(adapter, config, roles, dtype);
        }
        Layout from = legacy ? Layout.LEGACY : v5 ? Layout.V5 : to.map(Layout::other).orElseThrow(() ->
                new FuseboxException(Problem.UNSUPPORTED, file, "cannot tell whether it was made on transformers 4 "
                        + "or 5: every expert parameter it adapts (" + String.join(", ", new LinkedHashSet<>(stacked
                        .stream().map(Stacked::parameter).toList())) + ") is square per expert, so its LoRA factors have the "
                        + "same shapes in both layouts, while each holds the other transposed; name the layout to "
                        + "convert to", Remedy.TARGET_LAYOUT));
        if (to.isPresent() && to.get() == from) {
            throw new FuseboxException(Problem.ALREADY_CONVERTED, file, "is already a " + from.jsonName()
                    + " adapter; nothing to convert");
        }
        Map<String, Stacked> byModule = new LinkedHashMap<>();
        stacked.forEach(s -> byModule.put(s.pair().module(), s));
        List<PlannedTarget> targets = new ArrayList<>();
        Map<String, TargetLora> lora = new LinkedHashMap<>();
        for (LoraPair pair : tensors.pairs().values()) {
            Stacked s = byModule.get(pair.module());
            int rank = s == null ? pair.rank() : s.rank();
            double alpha = PeftPatterns.alpha(config, pair.module());
            TargetLora t = new TargetLora(List.of(pair.module()), List.of(rank), List.of(alpha), rank, alpha,
                    PeftPatterns.scale(config.useRslora(), rank, alpha));
            for (char factor : new char[] {'A', 'B'}) {
                lora.put(AdapterTensors.key(pair.module(), factor), t);
            }
            if (s != null) {
                targets.addAll(TransposedExpertFactors.swapped(file, pair, pair.module(), rank, dtype));
            } else {
                targets.add(Targets.copy(pair.a().key(), pair.a(), dtype));
                targets.add(Targets.copy(pair.b().key(), pair.b(), dtype));
            }
        }
        tensors.others().forEach(o -> targets.add(Targets.copy(o.key(), o, dtype)));
        targets.sort((a, b) -> a.key().compareTo(b.key()));
        List<String> warnings = List.of("The experts' LoRA on " + String.join(", ", new LinkedHashSet<>(stacked
                .stream().map(Stacked::parameter).toList())) + " is written with each factor the other one transposed "
                + "expert by expert, under the same names: transformers 5 marks " + type + "'s experts is_transposed "
                + "and 4.x does not, which makes PEFT swap the roles of A and B.");
        PeftVerdict verdict = from == Layout.V5 ? new PeftVerdict(PeftVerdict.Outcome.NOT_APPLICABLE, "It is "
                + "already in the v5 format, which PEFT 0.21 loads as it is; PEFT cannot write the legacy format "
                + "back, Fusebox can.", List.of()) : PeftCheck.bornFused(type, stacked.stream().map(s ->
                new PeftCheck.Transposed(s.pair(), s.fitsV5())).toList());
        return AdapterPlans.assemble(adapter, type, roles, dtype.map(d -> " as " + d.name()).orElse(""), targets,
                config.raw(), warnings, lora, verdict, from, from.other(), false);
    }

    /** The adapter's LoRA pairs on parameters the base stores stacked, [E, d1, d2]. */
    private static List<Stacked> stacked(Path file, AdapterConfig config, AdapterTensors tensors, String type,
                                         BaseModel base) throws FuseboxException {
        List<Stacked> out = new ArrayList<>();
        for (LoraPair pair : tensors.pairs().values()) {
            NestedWrapper wrapper = NestedWrapper.of(pair.module());
            List<String> held = new ArrayList<>();
            String holder = wrapper.holder();
            List<String> order = LoraRoles.leaf(holder).equals("experts") ? EXPERTS.getOrDefault(type,
                    WEIGHT_THEN_BIAS) : WEIGHT_THEN_BIAS;
            for (String p : order) {
                if (config.targetsParameter(holder + "." + p) && base.v5Tensor(holder + "." + p).isPresent()) {
                    held.add(p);
                }
            }
            if (held.isEmpty() && wrapper.depth() == 0) {
                continue;
            }
            String parameter = wrapper.parameter(held).orElseThrow(() -> new FuseboxException(Problem.INVALID_CONFIG,
                    file, pair.module(), "it is " + (wrapper.depth() + 1) + " wrappers deep around " + holder
                    + ", but target_parameters names only " + held.size() + " of its parameters " + order));
            Shape shape = base.v5Tensor(holder + "." + parameter).orElseThrow().shape();
            if (shape.rank() != 3) {
                continue;
            }
            Stacked s = new Stacked(pair, parameter, shape.dim(0), shape.dim(1), shape.dim(2));
            if (!s.fitsLegacy() && !s.fitsV5()) {
                throw new FuseboxException(Problem.SHAPE_MISMATCH, file, pair.a().key(), "its factors "
                        + pair.a().shape() + " and " + pair.b().shape() + " fit neither layout's LoRA on "
                        + holder + "." + parameter + " " + shape);
            }
            out.add(s);
        }
        return out;
    }

    /** An adapter without LoRA on stacked experts means the same in both layouts: the plan copies it. */
    private static AdapterPlan copy(Checkpoint adapter, AdapterConfig config, LoraRoles roles,
                                    Optional<Dtype> dtype) throws FuseboxException {
        List<PlannedTarget> targets = new ArrayList<>();
        for (TensorSpec s : adapter.specs()) {
            targets.add(Targets.copy(s.key(), s, dtype));
        }
        PeftVerdict verdict = new PeftVerdict(PeftVerdict.Outcome.LOADS_EXACTLY, "PEFT 0.21 would load it exactly: "
                + "it has no LoRA on stacked experts, and " + roles.modelType() + "'s names are the same in every "
                + "transformers version; nothing to convert.", List.of());
        return AdapterPlans.assemble(adapter, roles.modelType(), roles, dtype.map(d -> " as " + d.name())
                .orElse(""), targets, config.raw(), List.of("Nothing to convert: the adapter has no LoRA on stacked "
                + "experts, so it loads as it is on 4.x and v5 models; the output is a copy of it."), Map.of(),
                verdict, Layout.LEGACY, Layout.V5, dtype.isEmpty());
    }
}
