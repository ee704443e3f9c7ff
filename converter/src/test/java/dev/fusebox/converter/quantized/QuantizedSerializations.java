package dev.fusebox.converter.quantized;

import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Tiny Mixtral checkpoints whose experts are stored as each quantization library serializes a Linear(in, out),
 * keys, dtypes and shapes written from the libraries' sources (see the README under test resources
 * dev/fusebox/converter/quantized): one layer, 2 experts, hidden 64, expert intermediate 128, 4 bits, group 32.
 */
public final class QuantizedSerializations {

    public static final int HIDDEN = 64;
    public static final int INTERMEDIATE = 128;
    static final int GROUP = 32;
    static final String EXPERTS = "model.layers.0.block_sparse_moe.experts.";

    private QuantizedSerializations() {
    }

    /** One library's tensors for a Linear(in, out) under {@code module} (e.g. {@code ….experts.0.w1}). */
    interface Linear extends BiFunction<String, long[], List<TensorSpec>> {
    }

    static TensorSpec t(String key, Dtype dtype, long... dims) {
        return new TensorSpec(key, dtype, Shape.of(dims));
    }

    /** auto-gptq / GPTQModel QuantLinear: qweight I32 [in·bits/32, out], qzeros I32 [in/g, out·bits/32], scales F16 [in/g, out], g_idx I32 [in]. */
    static List<TensorSpec> gptq(String m, long[] io) {
        long in = io[0];
        long out = io[1];
        return List.of(t(m + ".qweight", Dtype.I32, in * 4 / 32, out), t(m + ".qzeros", Dtype.I32, in / GROUP, out * 4 / 32),
                t(m + ".scales", Dtype.F16, in / GROUP, out), t(m + ".g_idx", Dtype.I32, in));
    }

    /** AutoAWQ WQLinear_GEMM: qweight I32 [in, out/8], qzeros I32 [in/g, out/8], scales F16 [in/g, out]. */
    static List<TensorSpec> awq(String m, long[] io) {
        long in = io[0];
        long out = io[1];
        return List.of(t(m + ".qweight", Dtype.I32, in, out / 8), t(m + ".qzeros", Dtype.I32, in / GROUP, out / 8),
                t(m + ".scales", Dtype.F16, in / GROUP, out));
    }

    /**
     * bitsandbytes Params4bit (nf4, blocksize 64), as transformers saves it through QuantState.as_dict(packed=True):
     * weight U8 [out·in/2, 1], weight.absmax F32 [out·in/64], weight.quant_map F32 [16], and the quant state's JSON
     * as U8 bytes under weight.quant_state.bitsandbytes__nf4.
     */
    static List<TensorSpec> bnb4(String m, long[] io) {
        long n = io[0] * io[1];
        return List.of(t(m + ".weight", Dtype.U8, n / 2, 1), t(m + ".weight.absmax", Dtype.F32, n / 64),
                t(m + ".weight.quant_map", Dtype.F32, 16), t(m + ".weight.quant_state.bitsandbytes__nf4", Dtype.U8, 94));
    }

    /** bitsandbytes Int8Params (LLM.int8()): weight I8 [out, in], SCB F32 [out]. */
    static List<TensorSpec> bnb8(String m, long[] io) {
        return List.of(t(m + ".weight", Dtype.I8, io[1], io[0]), t(m + ".SCB", Dtype.F32, io[1]));
    }

    /** compressed-tensors pack-quantized (W4A16): weight_packed I32 [out, in/8], weight_scale BF16 [out, in/g], weight_shape I64 [2]. */
    static List<TensorSpec> packQuantized(String m, long[] io) {
        return List.of(t(m + ".weight_packed", Dtype.I32, io[1], io[0] / 8),
                t(m + ".weight_scale", Dtype.BF16, io[1], io[0] / GROUP), t(m + ".weight_shape", Dtype.I64, 2));
    }

    /** compressed-tensors float-quantized FP8 (channel strategy): weight F8_E4M3 [out, in], weight_scale F32 [out, 1]. */
    static List<TensorSpec> compressedFp8(String m, long[] io) {
        return List.of(t(m + ".weight", Dtype.F8_E4M3, io[1], io[0]), t(m + ".weight_scale", Dtype.F32, io[1], 1));
    }

    /**
     * transformers' fine-grained FP8 with static activation scales (activation_scheme static): weight F8_E4M3
     * [out, in], weight_scale_inv F32 [⌈out/32⌉, ⌈in/16⌉], activation_scale F32 [].
     */
    static List<TensorSpec> fp8Static(String m, long[] io) {
        return List.of(t(m + ".weight", Dtype.F8_E4M3, io[1], io[0]),
                t(m + ".weight_scale_inv", Dtype.F32, Math.ceilDiv(io[1], 32), Math.ceilDiv(io[0], 16)),
                t(m + ".activation_scale", Dtype.F32));
    }

    /** A Mixtral expert's three projections as {@code linear} stores them: w1 and w3 [H → I], w2 [I → H]. */
    static List<TensorSpec> mixtral(Linear linear) {
        List<TensorSpec> out = new ArrayList<>();
        out.add(t("model.embed_tokens.weight", Dtype.BF16, 32, HIDDEN));
        out.add(t("model.layers.0.block_sparse_moe.gate.weight", Dtype.BF16, 2, HIDDEN));
        for (int e = 0; e < 2; e++) {
            out.addAll(linear.apply(EXPERTS + e + ".w1", new long[] {HIDDEN, INTERMEDIATE}));
            out.addAll(linear.apply(EXPERTS + e + ".w2", new long[] {INTERMEDIATE, HIDDEN}));
            out.addAll(linear.apply(EXPERTS + e + ".w3", new long[] {HIDDEN, INTERMEDIATE}));
        }
        out.add(t("model.norm.weight", Dtype.BF16, HIDDEN));
        return out;
    }

    /** config.json of the tiny Mixtral, with {@code quantization} as its quantization_config (none when null). */
    static Map<String, Object> config(Map<String, Object> quantization) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("hidden_size", HIDDEN);
        c.put("intermediate_size", INTERMEDIATE);
        c.put("num_local_experts", 2);
        c.put("num_hidden_layers", 1);
        if (quantization != null) {
            c.put("quantization_config", quantization);
        }
        return c;
    }

    static Path write(Path dir, Map<String, Object> quantization, List<TensorSpec> tensors) throws IOException {
        return TestCheckpoints.write(dir, "mixtral", config(quantization), tensors);
    }
}
