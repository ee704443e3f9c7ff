package dev.fusebox.converter.tree;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * How a family's module tree looks in PyTorch, as data: class names by module path, the definition order of
 * children, and modules that hold no tensors (activations, rotary embeddings) but appear in {@code print(model)}.
 * Paths use {@code #} for a numeric index segment and {@code *}/{@code ?} as globs within a segment. Lookups are
 * cached by the path with its indices replaced by {@code #} (a model has as many experts as it likes, but few
 * distinct paths), so a template cannot single out one index.
 */
final class TreeTemplate {

    private final List<String> modelTypes;
    private final String classPrefix;
    private final double rmsNormEps;
    private final List<Entry> modules;
    private final Map<String, Optional<Entry>> byIndexFreePath = new ConcurrentHashMap<>();

    private TreeTemplate(List<String> modelTypes, String classPrefix, double rmsNormEps, List<Entry> modules) {
        this.modelTypes = modelTypes;
        this.classPrefix = classPrefix;
        this.rmsNormEps = rmsNormEps;
        this.modules = modules;
    }

    String classPrefix() {
        return classPrefix;
    }

    double rmsNormEps() {
        return rmsNormEps;
    }

    record Entry(String path, String className, List<String> children, boolean implicit, String shapeFrom,
                 Pattern pattern) {

        boolean matches(String modulePath) {
            return pattern.matcher(modulePath).matches();
        }
    }

    private record EntryJson(String path, @JsonProperty("class") String className, List<String> children,
                             boolean implicit, @JsonProperty("shape_from") String shapeFrom) {
    }

    private record TemplateJson(@JsonProperty("model_types") List<String> modelTypes,
                                @JsonProperty("class_prefix") String classPrefix,
                                @JsonProperty("rms_norm_eps") double rmsNormEps, List<EntryJson> modules) {
    }

    private record FileJson(List<TemplateJson> templates) {
    }

    private static final List<TreeTemplate> BUILT_IN = load();

    static Optional<TreeTemplate> forModelType(String modelType) {
        return BUILT_IN.stream().filter(t -> t.modelTypes.contains(modelType)).findFirst();
    }

    Optional<Entry> entry(String modulePath) {
        return entryWithoutIndices(withoutIndices(modulePath));
    }

    /** The entry for a path whose indices are already {@code #}. */
    Optional<Entry> entryWithoutIndices(String path) {
        return byIndexFreePath.computeIfAbsent(path,
                p -> modules.stream().filter(e -> e.matches(p)).findFirst());
    }

    /** {@code model.layers.12.mlp} → {@code model.layers.#.mlp}. */
    static String withoutIndices(String path) {
        StringBuilder out = new StringBuilder(path.length());
        int start = 0;
        while (start <= path.length()) {
            int end = path.indexOf('.', start);
            if (end < 0) {
                end = path.length();
            }
            boolean index = end > start;
            for (int i = start; i < end && index; i++) {
                index = Character.isDigit(path.charAt(i));
            }
            if (start > 0) {
                out.append('.');
            }
            if (index) {
                out.append('#');
            } else {
                out.append(path, start, end);
            }
            start = end + 1;
        }
        return out.toString();
    }

    private static List<TreeTemplate> load() {
        ObjectMapper mapper = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();
        try (InputStream in = TreeTemplate.class.getResourceAsStream("tree-templates.json")) {
            if (in == null) {
                throw new IllegalStateException("tree-templates.json is missing from the converter module");
            }
            return mapper.readValue(in, FileJson.class).templates().stream()
                    .map(t -> new TreeTemplate(t.modelTypes(), t.classPrefix(), t.rmsNormEps(),
                            t.modules().stream().map(e -> new Entry(e.path(), e.className(),
                                    e.children() == null ? List.of() : e.children(), e.implicit(), e.shapeFrom(),
                                    compile(e.path()))).toList()))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("tree-templates.json of the converter module is unreadable", e);
        }
    }

    static Pattern compile(String path) {
        if (path.isEmpty()) {
            return Pattern.compile("");
        }
        StringBuilder regex = new StringBuilder();
        String[] segments = path.split("\\.");
        for (int i = 0; i < segments.length; i++) {
            if (i > 0) {
                regex.append("\\.");
            }
            String s = segments[i];
            if (s.equals("#")) {
                regex.append("#");
                continue;
            }
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '*' -> regex.append("[^.]*");
                    case '?' -> regex.append("[^.]");
                    default -> regex.append(Pattern.quote(String.valueOf(c)));
                }
            }
        }
        return Pattern.compile(regex.toString());
    }
}
