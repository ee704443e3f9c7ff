package dev.fusebox.converter.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * A PEFT adapter_config.json. The fields Fusebox reasons about are typed and checked; everything else stays in
 * {@link #raw()} so a converted adapter carries it over.
 */
public final class AdapterConfig {

    private final Path file;
    private final ObjectNode raw;
    private final String peftType;
    private final int r;
    private final double loraAlpha;
    private final List<String> targetModules;
    private final String targetModulesRegex;
    private final List<String> targetParameters;
    private final Map<String, Integer> rankPattern;
    private final Map<String, Double> alphaPattern;
    private final boolean useRslora;
    private final boolean useDora;
    private final double loraDropout;
    private final List<Integer> layersToTransform;
    private final List<String> modulesToSave;
    private final String baseModelNameOrPath;

    private AdapterConfig(Path file, ObjectNode raw) throws FuseboxException {
        Problem p = Problem.INVALID_CONFIG;
        this.file = file;
        this.raw = raw;
        String type = JsonFiles.stringField(file, raw, "peft_type", p);
        this.peftType = type == null ? "LORA" : type;
        if (peftType.equals("LORA")) {
            this.r = JsonFiles.intField(file, raw, "r", p).orElse(8);
            if (r <= 0) {
                throw new FuseboxException(p, file, "r is " + r + ", but a LoRA rank must be at least 1");
            }
        } else {
            this.r = JsonFiles.intField(file, raw, "r", p).orElse(0);
        }
        OptionalDouble alpha = JsonFiles.doubleField(file, raw, "lora_alpha", p);
        this.loraAlpha = alpha.orElse(8);
        JsonNode tm = raw.get("target_modules");
        if (tm != null && tm.isTextual()) {
            this.targetModulesRegex = tm.textValue();
            this.targetModules = List.of();
        } else {
            this.targetModulesRegex = null;
            this.targetModules = List.copyOf(JsonFiles.stringList(file, raw, "target_modules", p));
        }
        this.targetParameters = List.copyOf(JsonFiles.stringList(file, raw, "target_parameters", p));
        this.rankPattern = Collections.unmodifiableMap(readRankPattern(file, raw));
        this.alphaPattern = Collections.unmodifiableMap(readAlphaPattern(file, raw));
        this.useRslora = Boolean.TRUE.equals(JsonFiles.booleanField(file, raw, "use_rslora", p));
        this.useDora = Boolean.TRUE.equals(JsonFiles.booleanField(file, raw, "use_dora", p));
        this.loraDropout = JsonFiles.doubleField(file, raw, "lora_dropout", p).orElse(0.0);
        this.layersToTransform = readLayers(file, raw);
        this.modulesToSave = List.copyOf(JsonFiles.stringList(file, raw, "modules_to_save", p));
        this.baseModelNameOrPath = JsonFiles.stringField(file, raw, "base_model_name_or_path", p);
    }

    /** Reads and checks adapter_config.json. */
    public static AdapterConfig read(Path file) throws FuseboxException {
        return new AdapterConfig(file, JsonFiles.readObject(file, Problem.INVALID_CONFIG));
    }

    /** A config from an object built in memory (a converted adapter's config before it is written). */
    public static AdapterConfig of(Path file, ObjectNode raw) throws FuseboxException {
        return new AdapterConfig(file, raw.deepCopy());
    }

    private static Map<String, Integer> readRankPattern(Path file, ObjectNode raw) throws FuseboxException {
        Map<String, Integer> out = new LinkedHashMap<>();
        JsonNode node = raw.get("rank_pattern");
        if (node == null || node.isNull()) {
            return out;
        }
        if (!node.isObject()) {
            throw new FuseboxException(Problem.INVALID_CONFIG, file, "rank_pattern is not a JSON object");
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            int v = JsonFiles.intField(file, node, e.getKey(), Problem.INVALID_CONFIG).orElse(0);
            if (v <= 0) {
                throw new FuseboxException(Problem.INVALID_CONFIG, file, "rank_pattern gives '" + e.getKey()
                        + "' the rank " + e.getValue() + ", but a LoRA rank must be at least 1");
            }
            out.put(e.getKey(), v);
        }
        return out;
    }

    private static Map<String, Double> readAlphaPattern(Path file, ObjectNode raw) throws FuseboxException {
        Map<String, Double> out = new LinkedHashMap<>();
        JsonNode node = raw.get("alpha_pattern");
        if (node == null || node.isNull()) {
            return out;
        }
        if (!node.isObject()) {
            throw new FuseboxException(Problem.INVALID_CONFIG, file, "alpha_pattern is not a JSON object");
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isNumber()) {
                throw new FuseboxException(Problem.INVALID_CONFIG, file,
                        "alpha_pattern gives '" + e.getKey() + "' the value " + e.getValue() + ", expected a number");
            }
            out.put(e.getKey(), e.getValue().doubleValue());
        }
        return out;
    }

    private static List<Integer> readLayers(Path file, ObjectNode raw) throws FuseboxException {
        JsonNode node = raw.get("layers_to_transform");
        if (node == null || node.isNull()) {
            return null;
        }
        List<Integer> out = new ArrayList<>();
        if (node.isIntegralNumber()) {
            out.add(node.intValue());
        } else if (node.isArray()) {
            for (JsonNode e : node) {
                if (!e.isIntegralNumber() || e.intValue() < 0) {
                    throw new FuseboxException(Problem.INVALID_CONFIG, file,
                            "layers_to_transform holds " + e + ", expected layer indices");
                }
                out.add(e.intValue());
            }
        } else {
            throw new FuseboxException(Problem.INVALID_CONFIG, file,
                    "layers_to_transform is " + node + ", expected a layer index or a list of them");
        }
        return List.copyOf(out);
    }

    public Path file() {
        return file;
    }

    /** The whole parsed file. */
    public ObjectNode raw() {
        return raw.deepCopy();
    }

    public String peftType() {
        return peftType;
    }

    public int r() {
        return r;
    }

    public double loraAlpha() {
        return loraAlpha;
    }

    /** Target module names when the config lists them (empty when it gives a regex instead). */
    public List<String> targetModules() {
        return targetModules;
    }

    /** The regex form of {@code target_modules}, when the config gives one string. */
    public Optional<String> targetModulesRegex() {
        return Optional.ofNullable(targetModulesRegex);
    }

    public List<String> targetParameters() {
        return targetParameters;
    }

    /**
     * PEFT's test for a targeted parameter: its full name ({@code model.layers.0.mlp.experts.gate_up_proj}) is an
     * entry of target_parameters, or ends with a dot and one.
     */
    public boolean targetsParameter(String name) {
        return targetParameters.stream().anyMatch(t -> name.equals(t) || name.endsWith("." + t));
    }

    public Map<String, Integer> rankPattern() {
        return rankPattern;
    }

    public Map<String, Double> alphaPattern() {
        return alphaPattern;
    }

    public boolean useRslora() {
        return useRslora;
    }

    public boolean useDora() {
        return useDora;
    }

    public double loraDropout() {
        return loraDropout;
    }

    /** The layers the adapter is restricted to, or empty when it covers all. */
    public Optional<List<Integer>> layersToTransform() {
        return Optional.ofNullable(layersToTransform);
    }

    public List<String> modulesToSave() {
        return modulesToSave;
    }

    public Optional<String> baseModelNameOrPath() {
        return Optional.ofNullable(baseModelNameOrPath);
    }
}
