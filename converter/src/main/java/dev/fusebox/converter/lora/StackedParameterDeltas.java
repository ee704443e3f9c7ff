package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a LoRA on parameters does to the weights of a family whose experts 4.x stored stacked already (granitemoe,
 * aria_text, gpt_oss), in legacy names, as PEFT 0.21's ParamWrapper merges it. A 3-D parameter [E, d1, d2] gets
 * one ΔW [d1, d2] per expert: {@code B_e·A_e} (A [E·r, d2], B [d1, r·E]) where the module the adapter was made for
 * has no {@code is_transposed} (every 4.x module, v5's granitemoe experts), {@code A_eᵀ·B_eᵀ} (A [E·r, d1],
 * B [d2, r·E]) where it has (v5's aria_text and gpt_oss experts); A's rows are expert-major (e·r + k), B's columns
 * rank-major (k·E + e). A 2-D parameter (a router's weight, an expert bias [E, n]) gets {@code B·A}, as a Linear.
 */
final class StackedParameterDeltas {

    /** What the LoRA pairs that wrap parameters change, by legacy tensor name, and the pairs that are plain modules. */
    record Result(Map<String, AdapterDeltas.Change> changes, List<LoraPair> plain) {
    }

    private StackedParameterDeltas() {
    }

    /** Whether adapters of {@code roles}' type reach its experts through parameters in both layouts. */
    static boolean applies(LoraRoles roles) {
        return RenamedStackedToV5.converts(roles.modelType()) || roles.rules().bornFused();
    }

    static Result read(Path file, AdapterConfig config, AdapterTensors tensors, LoraRoles roles, BaseModel base)
            throws FuseboxException {
        Map<String, AdapterDeltas.Change> changes = new LinkedHashMap<>();
        List<LoraPair> plain = new ArrayList<>();
        for (LoraPair pair : tensors.pairs().values()) {
            NestedWrapper wrapper = NestedWrapper.of(pair.module());
            List<String> held = new ArrayList<>();
            for (String p : order(roles, wrapper.holder())) {
                String name = wrapper.holder() + "." + p;
                if (config.targetsParameter(name) && shape(roles, base, name).isPresent()) {
                    held.add(p);
                }
            }
            if (held.isEmpty() && wrapper.depth() == 0) {
                plain.add(pair);
                continue;
            }
            String parameter = wrapper.holder() + "." + wrapper.parameter(held).orElseThrow(() ->
                    new FuseboxException(Problem.INVALID_CONFIG, file, pair.module(), "it is " + (wrapper.depth() + 1)
                            + " wrappers deep around " + wrapper.holder() + ", but target_parameters names only "
                            + held.size() + " of its parameters"));
            String legacy = base.legacyKeys().contains(parameter) ? parameter : roles.renamed(parameter, false);
            Shape shape = shape(roles, base, parameter).orElseThrow();
            changes.put(legacy, shape.rank() == 3
                    ? experts(file, config, pair, legacy, shape, transposed(file, roles, parameter, legacy, pair,
                    shape))
                    : new AdapterDeltas.Delta(legacy, MatrixView.whole(pair.a()), MatrixView.whole(pair.b()),
                    PeftPatterns.scale(config.useRslora(), pair.rank(), PeftPatterns.alpha(config, pair.module())),
                    false, Optional.empty()));
        }
        return new Result(changes, plain);
    }

    /** A holder's parameters in the order its module registers them, which PEFT nests its wrappers in. */
    private static List<String> order(LoraRoles roles, String holder) {
        if (!LoraRoles.leaf(holder).equals("experts")) {
            return List.of("weight", "bias");
        }
        return RenamedStackedToV5.parameterOrder(roles.modelType())
                .or(() -> BornFusedExperts.expertsOrder(roles.modelType())).orElse(List.of());
    }

    /** The shape of a parameter named in either layout, from the base's v5 tensors. */
    private static Optional<Shape> shape(LoraRoles roles, BaseModel base, String name) {
        return base.v5Tensor(name).or(() -> base.v5Tensor(roles.renamed(name, true))).map(TensorSpec::shape);
    }

    /**
     * Whether the adapter's factors of {@code parameter} are v5's of an is_transposed module: named by its v5 name
     * only, or, where both layouts name it alike (gpt_oss), by their shapes.
     */
    private static boolean transposed(Path file, LoraRoles roles, String parameter, String legacy, LoraPair pair,
                                      Shape shape) throws FuseboxException {
        if (!RenamedStackedToV5.transposed(roles.modelType()) && !roles.rules().bornFused()) {
            return false;
        }
        if (!parameter.equals(legacy)) {
            return true;
        }
        if (!roles.renamed(parameter, true).equals(parameter)) {
            return false;
        }
        if (shape.dim(1) == shape.dim(2)) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, pair.a().key(), "cannot tell whether it was made "
                    + "on transformers 4 or 5: " + parameter + " " + shape + " is square per expert, so its LoRA "
                    + "factors have the same shapes in both layouts, while each holds the other transposed; convert "
                    + "the adapter to the base's layout first, naming the layout to convert to, and merge that");
        }
        return pair.in() == shape.dim(1) && pair.out() == shape.dim(2);
    }

    private static AdapterDeltas.ExpertDeltas experts(Path file, AdapterConfig config, LoraPair pair, String legacy,
                                                      Shape shape, boolean transposed) throws FuseboxException {
        long e = shape.dim(0);
        long d1 = shape.dim(1);
        long d2 = shape.dim(2);
        TensorSpec a = pair.a();
        TensorSpec b = pair.b();
        long rows = a.shape().dim(0);
        boolean fits = rows % e == 0 && (transposed ? pair.in() == d1 && pair.out() == d2
                : pair.in() == d2 && pair.out() == d1);
        if (!fits) {
            throw new FuseboxException(Problem.RAGGED_SHAPES, file, a.key(), "its factors " + a.shape() + " and "
                    + b.shape() + " are not LoRA of the stacked " + legacy + " " + shape);
        }
        int rank = Math.toIntExact(rows / e);
        double scale = PeftPatterns.scale(config.useRslora(), rank, PeftPatterns.alpha(config, pair.module()));
        long width = rows;
        List<AdapterDeltas.Delta> out = new ArrayList<>();
        for (long x = 0; x < e; x++) {
            long first = Math.multiplyExact(x, rank);
            MatrixView left = transposed ? new MatrixView(a, d1, rank, Math.multiplyExact(first, d1), 1, d1)
                    : new MatrixView(b, d1, rank, x, width, e);
            MatrixView right = transposed ? new MatrixView(b, rank, d2, x, e, width)
                    : new MatrixView(a, rank, d2, Math.multiplyExact(first, d2), d2, 1);
            out.add(new AdapterDeltas.Delta(legacy + "[" + x + "]", right, left, scale, false, Optional.empty()));
        }
        return new AdapterDeltas.ExpertDeltas(legacy, out, d1, d2);
    }
}
