package dev.fusebox.converter.cli;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.convert.ConversionRequest;
import dev.fusebox.converter.tensor.Dtype;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The options of plan and convert besides the layout: for LoRA adapters the base model, a merge and the adapter's
 * dtype; for FP8 models, dequantizing.
 */
final class AdapterOptions {

    @Option(names = "--base", paramLabel = "DIR",
            description = "For an adapter: its base model (default: base_model_name_or_path, found beside the "
                    + "adapter or in the Hugging Face cache), which gives the family and the experts' shapes.")
    private Path base;

    @Option(names = "--merge-adapter", paramLabel = "DIR",
            description = "Merge this LoRA adapter (legacy or v5) into the base model being converted.")
    private Path mergeAdapter;

    @Option(names = "--dtype", paramLabel = "TYPE",
            description = "For an adapter: write its tensors as float64, float32, bfloat16 or float16 "
                    + "(default: each in its own dtype).")
    private String dtype;

    @Option(names = "--dequantize",
            description = "For a fine-grained FP8 model: write its FP8 weights dense in the model's dtype, exactly as "
                    + "transformers dequantizes them on CPU, and config.json without quantization_config.")
    private boolean dequantize;

    private Optional<Path> base() {
        return Optional.ofNullable(base);
    }

    private Optional<Path> mergeAdapter() {
        return Optional.ofNullable(mergeAdapter);
    }

    private Optional<Dtype> dtype() throws FuseboxException {
        if (dtype == null) {
            return Optional.empty();
        }
        Optional<Dtype> d = Dtype.fromTorchName(dtype).or(() -> Dtype.fromHeaderName(dtype.toUpperCase(
                java.util.Locale.ROOT)));
        if (d.isEmpty() || !d.get().decodable()) {
            throw new FuseboxException(Problem.UNSUPPORTED, null, "--dtype takes float64, float32, bfloat16 or "
                    + "float16, not '" + dtype + "'");
        }
        return d;
    }

    /** The conversion these options and {@code rules} ask for. */
    ConversionRequest request(RuleOptions rules) throws FuseboxException {
        return new ConversionRequest(rules.target(), base(), dtype(), mergeAdapter(), dequantize);
    }
}
