package dev.fusebox.converter.checkpoint;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;

import java.nio.file.Path;
import java.util.Map;

/**
 * The check that a LoRA adapter's tensors pair up: every {@code lora_A} has its {@code lora_B} (and the reverse),
 * the rank they share is the same on both sides (A is [r, …], B is [out, r, …]) and is not 0. An adapter that
 * fails it would load into PEFT as random or zero deltas, or not at all; it is refused when opened, naming the key.
 */
final class AdapterPairs {

    private static final String[][] PAIRS = {{".lora_A.", ".lora_B."}, {"lora_embedding_A", "lora_embedding_B"}};

    private AdapterPairs() {
    }

    static void check(Path file, Map<String, StoredTensor> tensors) throws FuseboxException {
        for (StoredTensor t : tensors.values()) {
            String key = t.key();
            if (key.endsWith(".lora_B.bias")) {
                continue; // PEFT's lora_bias: B alone has a bias
            }
            for (String[] pair : PAIRS) {
                for (int side = 0; side < 2; side++) {
                    int at = key.lastIndexOf(pair[side]);
                    if (at < 0) {
                        continue;
                    }
                    String other = key.substring(0, at) + pair[1 - side] + key.substring(at + pair[side].length());
                    StoredTensor partner = tensors.get(other);
                    if (partner == null) {
                        throw new FuseboxException(Problem.INVALID_ADAPTER, file, key, "it has no partner '"
                                + other + "'; a LoRA needs both its A and its B");
                    }
                    if (side == 0) {
                        checkRank(file, t, partner);
                    }
                }
            }
        }
    }

    private static void checkRank(Path file, StoredTensor a, StoredTensor b) throws FuseboxException {
        if (a.shape().rank() < 1 || b.shape().rank() < 2) {
            throw new FuseboxException(Problem.INVALID_ADAPTER, file, a.key(), "its shape " + a.shape()
                    + " with B " + b.shape() + " has no rank dimension (A is [r, in], B is [out, r])");
        }
        long rank = a.shape().dim(0);
        if (rank == 0) {
            throw new FuseboxException(Problem.INVALID_ADAPTER, file, a.key(),
                    "its rank is 0 (shape " + a.shape() + "); a LoRA rank must be at least 1");
        }
        if (b.shape().dim(1) != rank) {
            throw new FuseboxException(Problem.INVALID_ADAPTER, file, a.key(), "its rank " + rank + " (shape "
                    + a.shape() + ") differs from its B's " + b.shape().dim(1) + " (shape " + b.shape() + ")");
        }
    }
}
