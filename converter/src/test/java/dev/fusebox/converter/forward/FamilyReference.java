package dev.fusebox.converter.forward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A full-pass family's tiny model and what transformers 5.18 computed on it in float64 (test resources
 * dev/fusebox/converter/forward/&lt;model type&gt;/, made by tools/reference-forward.py).
 */
record FamilyReference(String modelType, Path folder, JsonNode root) {

    static FamilyReference of(String modelType) {
        try {
            Path folder = Path.of(FamilyReference.class.getResource(modelType).toURI());
            return new FamilyReference(modelType, folder,
                    new ObjectMapper().readTree(folder.resolve("reference.json").toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    Path legacy() {
        return folder.resolve("legacy-base");
    }

    /** The LoRA adapter PEFT made of the legacy model in the legacy world. */
    Path legacyAdapter() {
        return folder.resolve("legacy-adapter");
    }

    /** A DoRA adapter of the model's attention, made by PEFT 0.21 on transformers 5.18. */
    Path doraAdapter() {
        return folder.resolve("dora-adapter");
    }

    /** The logits of PEFT's own forward pass with {@link #doraAdapter()}, in float64 (dora-reference.json). */
    double[][] doraLogits(int sequence) {
        try {
            JsonNode dora = new ObjectMapper().readTree(folder.resolve("dora-reference.json").toFile());
            return matrix(dora.get("dora").get(sequence).get("logits"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int sequences() {
        return root.get("input_ids").size();
    }

    int[] inputIds(int sequence) {
        JsonNode ids = root.get("input_ids").get(sequence);
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(i).intValue();
        }
        return out;
    }

    double[][] logits(int sequence) {
        return logits("base", sequence);
    }

    /** The logits of {@code entry}: "base", or "adapter" (the legacy adapter merged in float64). */
    double[][] logits(String entry, int sequence) {
        return matrix(root.get(entry).get(sequence).get("logits"));
    }

    /** The embeddings, each layer's output but the last, and the final norm's output. */
    List<double[][]> hiddenStates(int sequence) {
        List<double[][]> out = new ArrayList<>();
        for (JsonNode state : root.get("base").get(sequence).get("hidden_states")) {
            out.add(matrix(state));
        }
        return out;
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
