package dev.fusebox.converter;

/**
 * How much of a file Fusebox will hold in memory when opening it, so that a hostile file (a 100 MB header of
 * millions of tiny tensors, an index of millions of keys) is refused within seconds instead of exhausting the
 * heap. Each tensor kept open costs about 250 bytes of heap, so a checkpoint at the limit holds about 130 MiB.
 * The largest public MoE checkpoints have about 140 000 tensors in all and a few thousand per file.
 */
public final class Limits {

    /** Tensors in one safetensors or torch.save file. */
    public static final int MAX_TENSORS_PER_FILE = 1 << 18;

    /** Tensors in one checkpoint, over all its shards, and keys in its shard index. */
    public static final int MAX_TENSORS = 1 << 19;

    private Limits() {
    }
}
