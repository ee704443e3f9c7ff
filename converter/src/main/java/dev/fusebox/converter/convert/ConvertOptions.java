package dev.fusebox.converter.convert;

/**
 * How to write a conversion: the most tensor bytes one shard file may hold (a tensor larger than that gets a shard
 * of its own, as transformers does), and whether an existing output may be replaced.
 */
public record ConvertOptions(long maxShardBytes, boolean force) {

    /** transformers' default shard size, 5 GB. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    public static final ConvertOptions DEFAULTS = new ConvertOptions(DEFAULT_MAX_SHARD_BYTES, false);

    public ConvertOptions {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("the shard size must be positive, not " + maxShardBytes);
        }
    }
}
