package dev.fusebox.converter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.tensor.Dtype;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * A case tools/oracle-lora.py exported (resources lora/oracle/TYPE/VARIANT, see its README.md): the legacy adapter
 * the real PEFT made on a tiny model of transformers, the base's config.json and tensor list (TYPE/base, written
 * here as a base of zeros: a plan reads only names, shapes and the config), and the row: what PEFT 0.21 did with
 * the adapter, and what Fusebox's converted adapter did in PEFT.
 */
record OracleCase(Path adapter, Path base, JsonNode row) {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    static OracleCase open(String modelType, String variant, Path tmp) throws Exception {
        Path dir = Path.of(OracleCase.class.getResource("oracle/" + modelType + "/" + variant).toURI());
        Path stored = dir.resolveSibling("base");
        ObjectNode config = (ObjectNode) JSON.readTree(stored.resolve(Checkpoint.CONFIG).toFile());
        SyntheticAdapter base = SyntheticAdapter.empty(config);
        for (Map.Entry<String, JsonNode> t : JSON.readTree(stored.resolve("tensors.json").toFile()).properties()) {
            JsonNode shape = t.getValue().get("shape");
            long[] dims = new long[shape.size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = shape.get(i).asLong();
            }
            base.zeros(t.getKey(), Dtype.fromHeaderName(t.getValue().get("dtype").asText()).orElseThrow(), dims);
        }
        Path written = tmp.resolve(modelType + "-base");
        if (!Files.exists(written)) {
            base.writeModel(written);
        }
        return new OracleCase(dir.resolve("adapter"), written, JSON.readTree(dir.resolve("row.json").toFile()));
    }

    AdapterPlan plan() throws Exception {
        return AdapterFixtures.plan(adapter, Optional.of(base), Optional.empty(), Optional.empty());
    }

    /** What PEFT 0.21 did with the legacy adapter, as the PEFT check names it. */
    PeftVerdict.Outcome peft() {
        return switch (row.get("peft").asText()) {
            case "exact" -> PeftVerdict.Outcome.LOADS_EXACTLY;
            case "wrong" -> PeftVerdict.Outcome.LOADS_WRONG;
            case "refuses" -> PeftVerdict.Outcome.REFUSES;
            default -> throw new IllegalStateException("row.json: peft is " + row.get("peft"));
        };
    }
}
