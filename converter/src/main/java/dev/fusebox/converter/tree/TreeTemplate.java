package dev.fusebox.converter.tree;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.checkpoint.Layout;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * How one model type's modules print in one transformers version, as {@code tools/tree-templates.py} learned it
 * from transformers itself: one {@link Kind} per module kind, found by its path (list indices as {@code #}) and by
 * the names that hold tensors directly under it; the parameters tied to others; the defaults of the config fields
 * the texts name. Read from {@code LAYOUT/MODEL_TYPE.json} among this class's resources.
 */
final class TreeTemplate {

    /**
     * One kind of module: what holds tensors directly under it, its class (null when an activation field names
     * it), whether it is a ModuleList (and which of its items hold no tensors, so that no key tells they are there),
     * its children in definition order, its extra_repr with placeholders, and the config field naming its
     * activation.
     */
    record Kind(List<String> has, String className, boolean list, List<String> tensorlessItems,
                List<String> children, String repr, String activation) {
    }

    private static final Pattern MODEL_TYPE = Pattern.compile("[a-z0-9_]{1,64}");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Optional<TreeTemplate>> LOADED = new ConcurrentHashMap<>();
    private static final Map<Layout, Map<String, String>> ACTIVATIONS = new ConcurrentHashMap<>();

    private final Layout layout;
    private final String transformersVersion;
    private final Map<String, String> tied;
    private final Map<String, JsonNode> configDefaults;
    private final Map<String, Kind> kinds;
    private final Map<String, List<Kind>> kindsByPath = new HashMap<>();

    private TreeTemplate(Layout layout, String transformersVersion, Map<String, String> tied,
                         Map<String, JsonNode> configDefaults, Map<String, Kind> kinds) {
        this.layout = layout;
        this.transformersVersion = transformersVersion;
        this.tied = tied;
        this.configDefaults = configDefaults;
        this.kinds = kinds;
        kinds.forEach((key, kind) -> kindsByPath.computeIfAbsent(key.substring(0, key.indexOf('|')),
                p -> new ArrayList<>()).add(kind));
    }

    /** The bundled template of a model type in a layout (legacy or v5), if transformers has that type there. */
    static Optional<TreeTemplate> of(String modelType, Layout layout) {
        if (layout == Layout.UNKNOWN || !MODEL_TYPE.matcher(modelType).matches()) {
            return Optional.empty();
        }
        return LOADED.computeIfAbsent(layout.jsonName() + "/" + modelType, TreeTemplate::load);
    }

    Layout layout() {
        return layout;
    }

    String transformersVersion() {
        return transformersVersion;
    }

    /** Parameters that are others under a second name (lm_head.weight → model.embed_tokens.weight). */
    Map<String, String> tied() {
        return tied;
    }

    /** The kind of the module at {@code path} (indices as {@code #}) holding {@code has}, sorted. */
    Optional<Kind> kind(String path, List<String> has) {
        return Optional.ofNullable(kinds.get(key(path, has)));
    }

    /**
     * The kind whose class a module at {@code path} that matches no kind may borrow: among the kinds there (those
     * holding at least what it holds — one shard opened alone — or at most — a checkpoint with keys transformers
     * drops, such as an MTP layer or a stray tensor — unless {@code anyHolding}), the one class they all have.
     */
    Optional<Kind> lender(String path, List<String> has, boolean anyHolding) {
        List<Kind> candidates = kindsByPath.getOrDefault(path, List.of()).stream()
                .filter(k -> !k.list() && k.activation() == null
                        && (anyHolding || k.has().containsAll(has) || has.containsAll(k.has())))
                .toList();
        return candidates.isEmpty() || candidates.stream().map(Kind::className).distinct().count() > 1
                ? Optional.empty() : Optional.of(candidates.getFirst());
    }

    /** A config field's default, for a config.json that leaves it out (as save_pretrained does with defaults). */
    Optional<JsonNode> configDefault(String field) {
        return Optional.ofNullable(configDefaults.get(field));
    }

    /** What print(model) shows for an activation name ({@code silu} → {@code SiLUActivation()}). */
    Optional<String> activation(String name) {
        return Optional.ofNullable(ACTIVATIONS.computeIfAbsent(layout, TreeTemplate::loadActivations).get(name));
    }

    private static String key(String path, List<String> has) {
        return path + "|" + String.join(",", has);
    }

    private static Optional<TreeTemplate> load(String resource) {
        try (InputStream in = TreeTemplate.class.getResourceAsStream(resource + ".json")) {
            if (in == null) {
                return Optional.empty();
            }
            JsonNode t = JSON.readTree(in);
            Map<String, String> tied = new LinkedHashMap<>();
            t.get("tied").properties().forEach(e -> tied.put(e.getKey(), e.getValue().asText()));
            Map<String, JsonNode> defaults = new HashMap<>();
            t.get("config_defaults").properties().forEach(e -> defaults.put(e.getKey(), e.getValue()));
            Map<String, Kind> kinds = new HashMap<>();
            for (JsonNode k : t.get("modules")) {
                List<String> has = strings(k.get("has"));
                kinds.put(key(k.get("path").asText(), has), new Kind(has,
                        k.get("class").isNull() ? null : k.get("class").asText(), k.path("list").asBoolean(),
                        strings(k.get("tensorless_items")), strings(k.get("children")), k.path("repr").asText(""),
                        k.hasNonNull("activation") ? k.get("activation").asText() : null));
            }
            Layout layout = t.get("layout").asText().equals("v5") ? Layout.V5 : Layout.LEGACY;
            return Optional.of(new TreeTemplate(layout, t.get("transformers").asText(), Map.copyOf(tied),
                    Map.copyOf(defaults), Map.copyOf(kinds)));
        } catch (IOException e) {
            throw new UncheckedIOException("the module template " + resource + " of the converter is unreadable", e);
        }
    }

    private static Map<String, String> loadActivations(Layout layout) {
        try (InputStream in = TreeTemplate.class.getResourceAsStream(layout.jsonName() + "/activation-names.json")) {
            if (in == null) {
                throw new IllegalStateException("the converter's " + layout.jsonName()
                        + "/activation-names.json is missing");
            }
            Map<String, String> out = new HashMap<>();
            JSON.readTree(in).properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
            return Map.copyOf(out);
        } catch (IOException e) {
            throw new UncheckedIOException("the converter's activation-names.json is unreadable", e);
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null) {
            array.forEach(n -> out.add(n.asText()));
        }
        return List.copyOf(out);
    }
}
