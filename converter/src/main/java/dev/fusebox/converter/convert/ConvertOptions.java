package dev.fusebox.converter.convert;

/**
 * How to write a conversion: the most tensor bytes one shard file may hold (a tensor larger than that gets a shard
 * of its own, as transformers does), whether an existing output may be replaced, and from how many tensor bytes a
 * shard is written by two threads, each its half (see {@link ShardWriter}).
 */
public record ConvertOptions(long maxShardBytes, boolean force, long twoLanesFrom) {

    /** transformers' default shard size, 5 GB. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    /** Below this a second thread costs more than it saves; above it the copy is long enough to share. */
    public static final long DEFAULT_TWO_LANES_FROM = 64L << 20;

    public static final ConvertOptions DEFAULTS = new ConvertOptions(DEFAULT_MAX_SHARD_BYTES, false);

    public ConvertOptions {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("the shard size must be positive, not " + maxShardBytes);
        }
        if (twoLanesFrom < 0) {
            throw new IllegalArgumentException("the two-lane threshold must not be negative, not " + twoLanesFrom);
        }
    }

    public ConvertOptions(long maxShardBytes, boolean force) {
        this(maxShardBytes, force, DEFAULT_TWO_LANES_FROM);
    }

    /** These options with two lanes from {@code bytes} of tensor data (0: every shard of two or more tensors). */
    public ConvertOptions withTwoLanesFrom(long bytes) {
        return new ConvertOptions(maxShardBytes, force, bytes);
    }
}
