package dev.fusebox.converter.sample;

import dev.fusebox.converter.tensor.Dtype;

import java.util.Locale;

/**
 * The synthetic Mixtrals Fusebox can write. {@code TINY} has the sizes of the reference fixture
 * (fixtures/mixtral-tiny); {@code SEED} those of the product brief (fixtures/mixtral-seed-shape), used by the
 * benchmarks. A preset's rank is the LoRA rank of its sample adapter; its alpha is twice that.
 */
public enum SamplePreset {
    TINY(64, 96, 4, 2, 2, 4, 2, 256, Dtype.F32, 4),
    SEED(1024, 3584, 8, 2, 2, 32, 8, 32000, Dtype.BF16, 8);

    private final int hidden;
    private final int intermediate;
    private final int experts;
    private final int topK;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int vocab;
    private final Dtype dtype;
    private final int rank;

    SamplePreset(int hidden, int intermediate, int experts, int topK, int layers, int heads, int kvHeads, int vocab,
                 Dtype dtype, int rank) {
        this.hidden = hidden;
        this.intermediate = intermediate;
        this.experts = experts;
        this.topK = topK;
        this.layers = layers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.vocab = vocab;
        this.dtype = dtype;
        this.rank = rank;
    }

    /** The name on the command line. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public int hidden() {
        return hidden;
    }

    public int intermediate() {
        return intermediate;
    }

    public int experts() {
        return experts;
    }

    public int topK() {
        return topK;
    }

    public int layers() {
        return layers;
    }

    public int heads() {
        return heads;
    }

    public int kvHeads() {
        return kvHeads;
    }

    public int headDim() {
        return hidden / heads;
    }

    public int vocab() {
        return vocab;
    }

    public Dtype dtype() {
        return dtype;
    }

    public int rank() {
        return rank;
    }
}
