package dev.fusebox.converter.tensor;

/**
 * One tensor of a safetensors header: its spec and its byte range [begin, end) relative to the start of the
 * data section, as {@code data_offsets} gives it. The spec is made once, with the entry: planning and tree
 * building ask every tensor of a large checkpoint for it, more than once.
 */
public record TensorEntry(TensorSpec spec, long begin, long end) {

    public TensorEntry(String key, Dtype dtype, Shape shape, long begin, long end) {
        this(new TensorSpec(key, dtype, shape), begin, end);
    }

    public String key() {
        return spec.key();
    }

    public Dtype dtype() {
        return spec.dtype();
    }

    public Shape shape() {
        return spec.shape();
    }

    public long byteSize() {
        return end - begin;
    }
}
