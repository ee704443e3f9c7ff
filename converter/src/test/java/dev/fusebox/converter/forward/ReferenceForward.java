package dev.fusebox.converter.forward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.testsupport.Fixtures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** fixtures/mixtral-tiny/reference-forward.json: what transformers 5.17 computed on the tiny model. */
final class ReferenceForward {

    private static JsonNode root;

    private ReferenceForward() {
    }

    static synchronized JsonNode root() {
        if (root == null) {
            try {
                root = new ObjectMapper().readTree(Fixtures.tiny("reference-forward.json").toFile());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return root;
    }

    static int sequences() {
        return root().get("input_ids").size();
    }

    static int[] inputIds(int sequence) {
        JsonNode ids = root().get("input_ids").get(sequence);
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(i).intValue();
        }
        return out;
    }

    /** Logits [T][V] of an entry: "base", "base_float32" or "lora_<adapter>". */
    static double[][] logits(String entry, int sequence) {
        return matrix(root().get(entry).get(sequence).get("logits"));
    }

    /** The hidden states transformers reports: embeddings, each layer's output but the last, the final norm. */
    static List<double[][]> hiddenStates(int sequence) {
        List<double[][]> out = new ArrayList<>();
        for (JsonNode state : root().get("base").get(sequence).get("hidden_states")) {
            out.add(matrix(state));
        }
        return out;
    }

    /** Router logits [T][E] of one layer. */
    static double[][] routerLogits(int sequence, int layer) {
        return matrix(root().get("base").get(sequence).get("router_logits").get(layer));
    }

    private static double[][] matrix(JsonNode rows) {
        double[][] out = new double[rows.size()][];
        for (int r = 0; r < out.length; r++) {
            JsonNode row = rows.get(r);
            out[r] = new double[row.size()];
            for (int c = 0; c < out[r].length; c++) {
                out[r][c] = row.get(c).doubleValue();
            }
        }
        return out;
    }
}
