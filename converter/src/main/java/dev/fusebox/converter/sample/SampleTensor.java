package dev.fusebox.converter.sample;

import dev.fusebox.converter.tensor.TensorSpec;

/**
 * One tensor of a sample and how its values are drawn: uniform with mean {@code mean} and standard deviation
 * {@code std}, from a generator seeded by the sample's seed and the tensor's key (so every tensor is the same
 * whatever the order or the sharding).
 */
record SampleTensor(TensorSpec spec, double mean, double std) {

    static SampleTensor of(TensorSpec spec, double mean, double std) {
        return new SampleTensor(spec, mean, std);
    }
}
