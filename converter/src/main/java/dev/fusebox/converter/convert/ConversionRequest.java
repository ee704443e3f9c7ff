package dev.fusebox.converter.convert;

import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.tensor.Dtype;

import java.nio.file.Path;
import java.util.Optional;

/**
 * What a conversion of one input is asked for besides the input itself.
 *
 * @param to           the layout to write (default: the other one from the layout detected)
 * @param base         for an adapter: its base model (default: {@code base_model_name_or_path} when it is a local
 *                     directory), which gives the family and the experts' shapes
 * @param dtype        for an adapter: the dtype its tensors are written in (default: each in its own)
 * @param mergeAdapter for a model: a LoRA adapter to merge into the weights written
 * @param dequantize   for a fine-grained FP8 model: write its FP8 weights dense, as transformers' CPU loading
 *                     dequantizes them
 */
public record ConversionRequest(Optional<Layout> to, Optional<Path> base, Optional<Dtype> dtype,
                                Optional<Path> mergeAdapter, boolean dequantize) {

    /** To the other layout, nothing else asked. */
    public static final ConversionRequest DEFAULT = new ConversionRequest(Optional.empty(), Optional.empty(),
            Optional.empty(), Optional.empty(), false);

    public ConversionRequest(Optional<Layout> to, Optional<Path> base, Optional<Dtype> dtype,
                             Optional<Path> mergeAdapter) {
        this(to, base, dtype, mergeAdapter, false);
    }

    /** To {@code layout}, nothing else asked. */
    public static ConversionRequest to(Layout layout) {
        return DEFAULT.withTo(Optional.of(layout));
    }

    public ConversionRequest withTo(Optional<Layout> layout) {
        return new ConversionRequest(layout, base, dtype, mergeAdapter, dequantize);
    }

    public ConversionRequest withBase(Optional<Path> path) {
        return new ConversionRequest(to, path, dtype, mergeAdapter, dequantize);
    }

    public ConversionRequest withDtype(Optional<Dtype> d) {
        return new ConversionRequest(to, base, d, mergeAdapter, dequantize);
    }

    public ConversionRequest withMergeAdapter(Optional<Path> adapter) {
        return new ConversionRequest(to, base, dtype, adapter, dequantize);
    }

    public ConversionRequest withDequantize(boolean d) {
        return new ConversionRequest(to, base, dtype, mergeAdapter, d);
    }
}
