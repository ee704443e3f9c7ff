package dev.fusebox.converter.safetensors;

/**
 * One tensor of a safetensors header: its spec and its byte range [begin, end) relative to the start of the
 * data section, as {@code data_offsets} gives it.
 */
public record TensorEntry(String key, Dtype dtype, Shape shape, long begin, long end) {

    public TensorSpec spec() {
        return new TensorSpec(key, dtype, shape);
    }

    public long byteSize() {
        return end - begin;
    }
}
