package dev.fusebox.converter.lora;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A PEFT adapter's tensors sorted by role: the LoRA factor pairs of each module
 * ({@code base_model.model.<module>.lora_A.weight} and {@code …lora_B.weight}), and everything else — full weights
 * of {@code modules_to_save}, DoRA magnitudes, LoRA biases — as stored.
 */
public record AdapterTensors(Map<String, LoraPair> pairs, List<TensorSpec> others) {

    /** What every key of a saved PEFT adapter starts with. */
    public static final String PREFIX = "base_model.model.";
    private static final String A = ".lora_A.weight";
    private static final String B = ".lora_B.weight";

    public AdapterTensors {
        pairs = Collections.unmodifiableMap(new LinkedHashMap<>(pairs));
        others = List.copyOf(others);
    }

    /** Sorts {@code specs} (in file order) by role, checking that each A has its B and that their ranks agree. */
    public static AdapterTensors of(Path file, List<TensorSpec> specs) throws FuseboxException {
        Map<String, TensorSpec> as = new LinkedHashMap<>();
        Map<String, TensorSpec> bs = new LinkedHashMap<>();
        List<TensorSpec> others = new ArrayList<>();
        for (TensorSpec s : specs) {
            if (!s.key().startsWith(PREFIX)) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, s.key(), "a PEFT adapter's keys start with '"
                        + PREFIX + "'; this one does not");
            }
            if (s.key().endsWith(A)) {
                as.put(module(s.key(), A), s);
            } else if (s.key().endsWith(B)) {
                bs.put(module(s.key(), B), s);
            } else {
                others.add(s);
            }
        }
        Map<String, LoraPair> pairs = new LinkedHashMap<>();
        for (Map.Entry<String, TensorSpec> e : as.entrySet()) {
            TensorSpec a = e.getValue();
            TensorSpec b = bs.remove(e.getKey());
            if (b == null) {
                throw new FuseboxException(Problem.MISSING_TENSOR, file, a.key(), "its partner '"
                        + PREFIX + e.getKey() + B + "' is missing; a LoRA needs both factors");
            }
            if (a.shape().rank() != 2 || b.shape().rank() != 2) {
                throw new FuseboxException(Problem.RAGGED_SHAPES, file, a.shape().rank() != 2 ? a.key() : b.key(),
                        "a LoRA factor is a matrix, but the shapes are " + a.shape() + " and " + b.shape());
            }
            if (a.shape().dim(0) != b.shape().dim(1) || a.shape().dim(0) == 0) {
                throw new FuseboxException(Problem.RAGGED_SHAPES, file, b.key(), "its shape " + b.shape()
                        + " does not fit A " + a.shape() + " (B is [out, r] for A [r, in], r ≥ 1)");
            }
            if (!a.dtype().decodable() || !b.dtype().decodable()) {
                throw new FuseboxException(Problem.UNSUPPORTED, file, a.key(), "LoRA factors in "
                        + a.dtype().name() + "/" + b.dtype().name() + " are not float data Fusebox converts");
            }
            pairs.put(e.getKey(), new LoraPair(e.getKey(), a, b));
        }
        if (!bs.isEmpty()) {
            Map.Entry<String, TensorSpec> e = bs.entrySet().iterator().next();
            throw new FuseboxException(Problem.MISSING_TENSOR, file, e.getValue().key(), "its partner '" + PREFIX
                    + e.getKey() + A + "' is missing; a LoRA needs both factors");
        }
        return new AdapterTensors(pairs, others);
    }

    private static String module(String key, String suffix) {
        return key.substring(PREFIX.length(), key.length() - suffix.length());
    }

    /** The key of a module's factor, {@code A} or {@code B}. */
    public static String key(String module, char factor) {
        return PREFIX + module + (factor == 'A' ? A : B);
    }

    /** The model name of a stored full weight ({@code lm_head.weight}). */
    public static String modelKey(TensorSpec other) {
        return other.key().substring(PREFIX.length());
    }
}
