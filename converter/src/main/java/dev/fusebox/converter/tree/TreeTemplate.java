package dev.fusebox.converter.tree;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How a family's module tree looks in PyTorch, as data: class names by module path, the definition order of
 * children, and modules that hold no tensors (activations, rotary embeddings) but appear in {@code print(model)}.
 * Paths use {@code #} for a numeric index segment and {@code *}/{@code ?} as globs within a segment.
 */
record TreeTemplate(List<String> modelTypes, String classPrefix, double rmsNormEps, List<Entry> modules) {

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
        return modules.stream().filter(e -> e.matches(modulePath)).findFirst();
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
                regex.append("\\d+");
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
