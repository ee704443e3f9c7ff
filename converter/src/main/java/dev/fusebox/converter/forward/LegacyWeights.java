package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.tensor.TensorSource;
import dev.fusebox.converter.checkpoint.Layout;

/**
 * The transformers 4.x view: the router is {@code block_sparse_moe.gate}, each expert has its own w1 (gate), w3
 * (up) and w2 (down), and an adapter adapts each of them as a plain lora.Linear.
 */
final class LegacyWeights extends MixtralWeights {

    LegacyWeights(TensorSource tensors, MixtralDims dims, AdapterWeights adapter) {
        super(tensors, dims, adapter);
    }

    @Override
    public Layout layout() {
        return Layout.LEGACY;
    }

    private static String moe(int layer) {
        return layerPrefix(layer) + "block_sparse_moe.";
    }

    private static String expertModule(int layer, int expert, String w) {
        return moe(layer) + "experts." + expert + "." + w;
    }

    @Override
    void checkExperts() throws FuseboxException {
        MixtralDims d = dims();
        for (int l = 0; l < d.layers(); l++) {
            require(moe(l) + "gate.weight", d.experts(), d.hidden());
            claimLinear(moe(l) + "gate", d.hidden(), d.experts());
            for (int e = 0; e < d.experts(); e++) {
                require(expertModule(l, e, "w1") + ".weight", d.intermediate(), d.hidden());
                require(expertModule(l, e, "w3") + ".weight", d.intermediate(), d.hidden());
                require(expertModule(l, e, "w2") + ".weight", d.hidden(), d.intermediate());
                claimLinear(expertModule(l, e, "w1"), d.hidden(), d.intermediate());
                claimLinear(expertModule(l, e, "w3"), d.hidden(), d.intermediate());
                claimLinear(expertModule(l, e, "w2"), d.intermediate(), d.hidden());
            }
        }
    }

    @Override
    public Linear router(int layer) throws FuseboxException {
        return linear(moe(layer) + "gate.weight", moe(layer) + "gate");
    }

    @Override
    public Expert expert(int layer, int expert) throws FuseboxException {
        return new Expert(projection(layer, expert, "w1"), projection(layer, expert, "w3"),
                projection(layer, expert, "w2"));
    }

    private Linear projection(int layer, int expert, String w) throws FuseboxException {
        String module = expertModule(layer, expert, w);
        return linear(module + ".weight", module);
    }
}
