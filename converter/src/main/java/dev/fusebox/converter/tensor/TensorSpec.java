package dev.fusebox.converter.tensor;

/** What a tensor is, apart from where its bytes live: its key, element type and shape. */
public record TensorSpec(String key, Dtype dtype, Shape shape) {

    /** Bytes of data; throws ArithmeticException when the size does not fit in a long. */
    public long byteSize() {
        return shape.byteSize(dtype);
    }
}
