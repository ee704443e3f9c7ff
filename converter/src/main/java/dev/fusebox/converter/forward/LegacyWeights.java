package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.tensor.TensorSource;
import dev.fusebox.converter.checkpoint.Layout;

/**
 * The transformers 4.x view: Mixtral's (and MiniMax-M2's) router is {@code block_sparse_moe.gate} and each expert
 * has its own w1 (gate), w3 (up) and w2 (down); the other families' router is {@code mlp.gate} and each expert has
 * its own gate_proj, up_proj and down_proj. An adapter adapts each of them as a plain lora.Linear.
 */
final class LegacyWeights extends ModelWeights {

    LegacyWeights(TensorSource tensors, ModelDims dims, AdapterWeights adapter) {
        super(tensors, dims, adapter);
    }

    @Override
    public Layout layout() {
        return Layout.LEGACY;
    }

    private boolean mixtral() {
        return dims().mixtralLegacyNames();
    }

    private String moe(int layer) {
        return layerPrefix(layer) + (mixtral() ? "block_sparse_moe." : "mlp.");
    }

    private String gateName() {
        return mixtral() ? "w1" : "gate_proj";
    }

    private String upName() {
        return mixtral() ? "w3" : "up_proj";
    }

    private String downName() {
        return mixtral() ? "w2" : "down_proj";
    }

    private String expertModule(int layer, int expert, String w) {
        return moe(layer) + "experts." + expert + "." + w;
    }

    @Override
    void checkExperts() throws FuseboxException {
        ModelDims d = dims();
        for (int l = 0; l < d.layers(); l++) {
            if (d.dense(l)) {
                continue;
            }
            require(routerModule(l) + ".weight", d.experts(), d.hidden());
            claimLinear(routerModule(l), d.hidden(), d.experts());
            for (int e = 0; e < d.experts(); e++) {
                require(expertModule(l, e, gateName()) + ".weight", d.intermediate(), d.hidden());
                require(expertModule(l, e, upName()) + ".weight", d.intermediate(), d.hidden());
                require(expertModule(l, e, downName()) + ".weight", d.hidden(), d.intermediate());
                claimLinear(expertModule(l, e, gateName()), d.hidden(), d.intermediate());
                claimLinear(expertModule(l, e, upName()), d.hidden(), d.intermediate());
                claimLinear(expertModule(l, e, downName()), d.intermediate(), d.hidden());
            }
        }
    }

    @Override
    String correctionBiasKey(int layer) {
        return switch (dims().correctionBias()) {
            case ROUTER -> moe(layer) + "gate.e_score_correction_bias";
            case MOE_BLOCK -> moe(layer) + "e_score_correction_bias";
            case MOE_STATICS -> moe(layer) + "moe_statics.e_score_correction_bias";
            case NONE -> throw new IllegalStateException("no correction bias");
        };
    }

    @Override
    public Linear router(int layer) throws FuseboxException {
        return linear(routerModule(layer) + ".weight", routerModule(layer));
    }

    private String routerModule(int layer) {
        return moe(layer) + dims().routerModule();
    }

    @Override
    public Expert expert(int layer, int expert) throws FuseboxException {
        return new Expert(projection(layer, expert, gateName()), projection(layer, expert, upName()),
                projection(layer, expert, downName()));
    }

    private Linear projection(int layer, int expert, String w) throws FuseboxException {
        String module = expertModule(layer, expert, w);
        return linear(module + ".weight", module);
    }
}
