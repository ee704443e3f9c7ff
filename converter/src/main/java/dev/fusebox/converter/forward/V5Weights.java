package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.tensor.TensorSource;
import dev.fusebox.converter.checkpoint.Layout;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The transformers v5 view: the router is {@code mlp.gate}, expert e's gate and up are the two halves of
 * {@code mlp.experts.gate_up_proj[e]} and its down is {@code mlp.experts.down_proj[e]}. An adapter adapts them
 * with PEFT's ParamWrappers: each targeted parameter of the experts module gets a wrapper, nested in the order the
 * module declares them (gate_up_proj innermost), so with both targeted gate_up's pair is saved under
 * {@code experts.base_layer} and down's under {@code experts}; the router's weight gets a 2-D one under
 * {@code mlp.gate}. Rank and alpha come from the patterns matched against {@code <module>.<parameter>}.
 */
final class V5Weights extends ModelWeights {

    /** MixtralExperts' parameters in declaration order, the order PEFT wraps them in. */
    private static final List<String> EXPERT_PARAMETERS = List.of("gate_up_proj", "down_proj");

    V5Weights(TensorSource tensors, ModelDims dims, AdapterWeights adapter) {
        super(tensors, dims, adapter);
    }

    @Override
    public Layout layout() {
        return Layout.V5;
    }

    private static String mlp(int layer) {
        return layerPrefix(layer) + "mlp.";
    }

    @Override
    void checkExperts() throws FuseboxException {
        ModelDims d = dims();
        int h = d.hidden();
        int i = d.intermediate();
        int e = d.experts();
        for (int l = 0; l < d.layers(); l++) {
            if (d.dense(l)) {
                continue;
            }
            String experts = mlp(l) + "experts";
            require(routerModule(l) + ".weight", e, h);
            require(experts + ".gate_up_proj", e, 2L * i, h);
            require(experts + ".down_proj", e, h, i);
            claimLinear(routerModule(l), routerModule(l) + ".weight", h, e);
            for (String parameter : EXPERT_PARAMETERS) {
                String module = wrapperModule(experts, parameter);
                if (module != null) {
                    boolean gateUp = parameter.equals("gate_up_proj");
                    claim(module, experts + "." + parameter, e, gateUp ? h : i, gateUp ? 2 * i : h);
                }
            }
        }
    }

    /** The module name of the wrapper PEFT puts around {@code parameter}, or null when it is not targeted. */
    private String wrapperModule(String experts, String parameter) {
        List<String> wrapped = new ArrayList<>();
        for (String p : EXPERT_PARAMETERS) {
            String key = experts + "." + p;
            if (adapter().isPresent() && adapter().get().targetsParameter(key)) {
                wrapped.add(p);
            }
        }
        int depth = wrapped.indexOf(parameter);
        if (depth < 0) {
            return null;
        }
        return experts + ".base_layer".repeat(wrapped.size() - 1 - depth);
    }

    @Override
    String correctionBiasKey(int layer) {
        return switch (dims().correctionBias()) {
            case ROUTER -> mlp(layer) + "gate.e_score_correction_bias";
            case MOE_BLOCK -> mlp(layer) + "e_score_correction_bias";
            case MOE_STATICS -> mlp(layer) + "gate.moe_statics.e_score_correction_bias";
            case NONE -> throw new IllegalStateException("no correction bias");
        };
    }

    @Override
    public Linear router(int layer) throws FuseboxException {
        return linear(routerModule(layer) + ".weight", routerModule(layer));
    }

    private String routerModule(int layer) {
        return mlp(layer) + dims().routerModule();
    }

    @Override
    public Expert expert(int layer, int expert) throws FuseboxException {
        ModelDims d = dims();
        int h = d.hidden();
        int i = d.intermediate();
        String experts = mlp(layer) + "experts";
        long gateUpFirst = (long) expert * 2 * i * h;
        WeightMatrix gate = block(experts + ".gate_up_proj", gateUpFirst, i, h);
        WeightMatrix up = block(experts + ".gate_up_proj", gateUpFirst + (long) i * h, i, h);
        WeightMatrix down = block(experts + ".down_proj", (long) expert * h * i, h, i);
        Optional<LoraFactors> gateUpLora = Optional.ofNullable(wrapperModule(experts, "gate_up_proj"))
                .flatMap(this::lora);
        Optional<LoraFactors> downLora = Optional.ofNullable(wrapperModule(experts, "down_proj")).flatMap(this::lora);
        return new Expert(
                new Linear(gate, gateUpLora.isPresent() ? Optional.of(gateUpLora.get().expert(expert, 0, i))
                        : Optional.empty()),
                new Linear(up, gateUpLora.isPresent() ? Optional.of(gateUpLora.get().expert(expert, i, i))
                        : Optional.empty()),
                new Linear(down, downLora.isPresent() ? Optional.of(downLora.get().expert(expert, 0, h))
                        : Optional.empty()));
    }
}
