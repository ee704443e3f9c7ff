package dev.fusebox.converter.tree;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Gives a tree of modules built from keys the classes, child order, tensor-less modules and extra_repr texts its
 * {@link TreeTemplate} says transformers gives them, as {@code tools/tree-templates.py} renders them. A module
 * no kind of the template matches (by path and by what holds tensors under it), and everything below it, is
 * left as {@link KeyTreeNames} names it, and the tree is then not exact, with two exceptions that keep the class
 * names where the keys leave no doubt: a module holding part of what a kind at its path holds (one shard of a
 * checkpoint, opened alone), or all of it and more (keys transformers drops), borrows that kind's class and child
 * order, and so does, whatever it holds, a module
 * of the other layout's keys (the v5 template over the per-expert keys of a type transformers 4.x does not have),
 * so that only the per-expert modules are left to the keys. A borrowed class comes without the kind's text and
 * its tensor-less children.
 */
final class TemplateShaper {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}]*)}");

    private final TreeTemplate template;
    private final ObjectNode config;
    private final boolean otherLayout;
    /** The tied parameters a checkpoint leaves out, by module: their shapes are their sources'. */
    private final IdentityHashMap<ModuleNode, Map<String, TensorSpec>> tiedAbsent = new IdentityHashMap<>();
    private final Map<String, Part[]> parsedReprs = new HashMap<>();
    private boolean exact = true;

    private TemplateShaper(TreeTemplate template, ObjectNode config, boolean otherLayout) {
        this.template = template;
        this.config = config;
        this.otherLayout = otherLayout;
    }

    /**
     * Shapes {@code root} in place; whether every module matched a kind of the template. {@code otherLayout}: the
     * template is of the other layout, and lends its classes by path whatever a module holds.
     */
    static boolean shape(ModuleNode root, TreeTemplate template, ObjectNode config, boolean otherLayout) {
        TemplateShaper s = new TemplateShaper(template, config, otherLayout);
        s.addTiedModules(root);
        s.shape(root, new TemplatePath(""));
        return s.exact;
    }

    private void addTiedModules(ModuleNode root) {
        template.tied().forEach((alias, source) -> {
            TensorSpec spec = parameter(root, source);
            if (spec == null || parameter(root, alias) != null) {
                return;
            }
            int dot = alias.lastIndexOf('.');
            ModuleNode n = root;
            for (String part : (dot > 0 ? alias.substring(0, dot) : "").split("\\.")) {
                if (!part.isEmpty()) {
                    n = n.childOrCreate(part);
                }
            }
            tiedAbsent.computeIfAbsent(n, k -> new HashMap<>()).put(alias.substring(dot + 1), spec);
        });
    }

    private static TensorSpec parameter(ModuleNode root, String key) {
        int dot = key.lastIndexOf('.');
        ModuleNode owner = root.find(dot > 0 ? key.substring(0, dot) : "");
        return owner == null ? null : owner.parameters().get(key.substring(dot + 1));
    }

    /**
     * A module path with list indices as {@code #}, with the kinds found there by what a module holds and the paths
     * below it: a model has 100 000 modules but few such paths, so each module finds its own from its parent's.
     */
    private static final class TemplatePath {
        final String path;
        final Map<List<String>, Optional<TreeTemplate.Kind>> kinds = new HashMap<>();
        private final Map<String, TemplatePath> below = new HashMap<>();

        TemplatePath(String path) {
            this.path = path;
        }

        TemplatePath below(String name) {
            return below.computeIfAbsent(name, n -> new TemplatePath(path.isEmpty() ? n : path + "." + n));
        }
    }

    private void shape(ModuleNode node, TemplatePath at) {
        String path = at.path;
        Map<String, TensorSpec> tensors = tensors(node);
        List<String> sorted = holding(tensors, node);
        Optional<TreeTemplate.Kind> found = at.kinds.computeIfAbsent(sorted, h -> template.kind(path, h));
        if (found.isEmpty()) {
            exact = false;
            Optional<TreeTemplate.Kind> lent = template.lender(path, sorted, otherLayout);
            if (lent.isEmpty()) {
                KeyTreeNames.name(node);
                return;
            }
            node.setClassName(lent.get().className());
            node.mutableChildren().sort(Comparator.comparingInt(c -> lent.get().children().indexOf(c.name()) < 0
                    ? Integer.MAX_VALUE : lent.get().children().indexOf(c.name())));
            for (ModuleNode c : node.children()) {
                shape(c, at.below(c.name()));
            }
            return;
        }
        TreeTemplate.Kind kind = found.get();
        if (kind.list() && !KeyTreeNames.allIndices(node.children())) {
            // a key segment spelled "#", taken for the index the template writes so
            exact = false;
            KeyTreeNames.name(node);
            return;
        }
        if (kind.list()) {
            node.setClassName("ModuleList");
            node.setList(true);
            kind.tensorlessItems().forEach(node::childOrCreate);
            KeyTreeNames.sortNumericChildren(node);
            TemplatePath item = at.below("#");
            for (ModuleNode c : node.children()) {
                shape(c, item);
            }
            return;
        }
        if (kind.activation() != null) {
            Optional<String> text = textValue(kind.activation()).flatMap(template::activation);
            if (text.isEmpty()) {
                exact = false;
                KeyTreeNames.name(node);
                return;
            }
            int open = text.get().indexOf('(');
            node.setClassName(text.get().substring(0, open));
            node.setExtraRepr(text.get().substring(open + 1, text.get().length() - 1));
            return;
        }
        node.setClassName(kind.className());
        List<ModuleNode> ordered = new ArrayList<>(kind.children().size());
        for (String name : kind.children()) {
            ModuleNode c = node.childOrCreate(name);
            ordered.add(c);
            shape(c, at.below(name));
        }
        if (!node.children().equals(ordered)) {
            node.mutableChildren().sort(Comparator.comparingInt(ordered::indexOf));
        }
        node.setExtraRepr(fill(kind.repr(), tensors));
    }

    /** What holds tensors directly under a module, sorted: its own tensors and its children (an index as #). */
    private static List<String> holding(Map<String, TensorSpec> tensors, ModuleNode node) {
        List<String> has = new ArrayList<>(tensors.size() + node.children().size());
        has.addAll(tensors.keySet());
        boolean index = false;
        for (ModuleNode c : node.children()) {
            if (KeyTreeNames.isIndex(c.name())) {
                index = true;
            } else {
                has.add(c.name());
            }
        }
        if (index) {
            has.add("#");
        }
        has.sort(null);
        return has;
    }

    private Map<String, TensorSpec> tensors(ModuleNode node) {
        Map<String, TensorSpec> tied = tiedAbsent.isEmpty() ? null : tiedAbsent.get(node);
        if (tied == null) {
            return node.parameters();
        }
        Map<String, TensorSpec> all = new HashMap<>(node.parameters());
        all.putAll(tied);
        return all;
    }

    /** A piece of an extra_repr: text, or a placeholder for a tensor's dimension or a config field. */
    private sealed interface Part {
        record Text(String text) implements Part {
        }

        /** {@code weight.1}, or {@code weight.2-1} (one less). */
        record Dimension(String tensor, int axis, boolean less) implements Part {
        }

        record ConfigNumber(String field) implements Part {
        }

        /** {@code , padding_idx=N}, or nothing when the field is null. */
        record PaddingIndex(String field) implements Part {
        }
    }

    /** The extra_repr: each placeholder a tensor's dimension, a config field's value, or the padding index. */
    private String fill(String repr, Map<String, TensorSpec> tensors) {
        if (repr.isEmpty()) {
            return repr;
        }
        // Parsed once per text: a model has 100 000 modules but few texts.
        Part[] parts = parsedReprs.computeIfAbsent(repr, TemplateShaper::parse);
        StringBuilder out = new StringBuilder(repr.length());
        for (Part part : parts) {
            String value = switch (part) {
                case Part.Text t -> t.text();
                case Part.Dimension d -> {
                    TensorSpec t = tensors.get(d.tensor());
                    yield t == null || d.axis() >= t.shape().rank() ? null
                            : Long.toString(t.shape().dim(d.axis()) - (d.less() ? 1 : 0));
                }
                case Part.ConfigNumber c -> numberValue(c.field()).orElse(null);
                case Part.PaddingIndex p -> {
                    Optional<JsonNode> v = configValue(p.field());
                    yield v.isEmpty() ? null : v.get().isNull() ? ""
                            : v.get().isIntegralNumber() && v.get().canConvertToLong()
                            ? ", padding_idx=" + v.get().asLong() : null;
                }
            };
            if (value == null) {
                exact = false;
                value = "?";
            }
            out.append(value);
        }
        return out.toString();
    }

    /** {@code "({weight.0},), eps={config:rms_norm_eps}"} → text, dimension, text, config field. */
    private static Part[] parse(String repr) {
        List<Part> parts = new ArrayList<>();
        Matcher m = PLACEHOLDER.matcher(repr);
        int last = 0;
        while (m.find()) {
            parts.add(new Part.Text(repr.substring(last, m.start())));
            String p = m.group(1);
            if (p.startsWith("config:")) {
                parts.add(new Part.ConfigNumber(p.substring("config:".length())));
            } else if (p.startsWith("padding_idx:")) {
                parts.add(new Part.PaddingIndex(p.substring("padding_idx:".length())));
            } else {
                boolean less = p.endsWith("-1");
                String ref = less ? p.substring(0, p.length() - 2) : p;
                int dot = ref.lastIndexOf('.');
                parts.add(new Part.Dimension(ref.substring(0, dot), Integer.parseInt(ref.substring(dot + 1)), less));
            }
            last = m.end();
        }
        parts.add(new Part.Text(repr.substring(last)));
        return parts.toArray(Part[]::new);
    }

    /** A config field (dotted into nested objects) from config.json, or the template's default when it has none. */
    private Optional<JsonNode> configValue(String field) {
        JsonNode n = config;
        for (String part : field.split("\\.")) {
            n = n == null ? null : n.get(part);
        }
        return n != null ? Optional.of(n) : template.configDefault(field);
    }

    /** A number as Python prints it: an int as it is, a float by its repr. */
    private Optional<String> numberValue(String field) {
        return configValue(field).filter(JsonNode::isNumber).map(n -> n.isIntegralNumber()
                ? n.bigIntegerValue().toString() : PythonFloat.repr(n.asDouble()));
    }

    private Optional<String> textValue(String field) {
        return configValue(field).filter(JsonNode::isTextual).map(JsonNode::asText);
    }
}
