package dev.fusebox.converter.tree;

import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.safetensors.TensorSpec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Builds the module tree of a model from its tensor keys (real ones, or the keys a plan will write) and its
 * config. A family with a {@link TreeTemplate} gets PyTorch's exact class names, order and tensor-less modules;
 * any other gets a generic tree whose classes are inferred from the tensors (Linear, Embedding, RMSNorm,
 * ModuleList) and whose repeated layers fold as PyTorch folds them.
 */
public final class ModuleTreeBuilder {

    /** The prefix PEFT puts before every key of an adapter. */
    public static final String PEFT_PREFIX = "base_model.model.";

    private static final double GENERIC_RMS_EPS = 1e-6;

    /** The deepest a module tree goes; see {@link #module}. */
    static final int DEEPEST = 32;

    private ModuleTreeBuilder() {
    }

    /** The tree of a model's tensors; adapter keys are read without their PEFT prefix. */
    public static ModuleNode build(List<TensorSpec> tensors, String modelType, Optional<ModelConfig> config) {
        Optional<TreeTemplate> template = TreeTemplate.forModelType(modelType);
        ModuleNode root = new ModuleNode("", "", "");
        // Keys of one module arrive together, and a large model has 100 000 of them: find a key's module by its
        // path in a map rather than by walking down from the root.
        Map<String, ModuleNode> modules = HashMap.newHashMap(tensors.size());
        modules.put("", root);
        for (TensorSpec t : tensors) {
            String key = t.key().startsWith(PEFT_PREFIX) ? t.key().substring(PEFT_PREFIX.length()) : t.key();
            int dot = key.lastIndexOf('.');
            ModuleNode node = module(modules, dot > 0 ? key.substring(0, dot) : "");
            node.addParameter(key.substring(dot + 1), t);
        }
        boolean known = !modelType.isEmpty() && !modelType.equals("unknown");
        String prefix = template.map(TreeTemplate::classPrefix).orElse(known ? pascal(modelType) : "");
        double eps = config.flatMap(c -> c.rmsNormEps().isPresent()
                        ? Optional.of(c.rmsNormEps().getAsDouble()) : Optional.empty())
                .orElse(template.map(TreeTemplate::rmsNormEps).orElse(GENERIC_RMS_EPS));
        List<String> architectures = config.map(ModelConfig::architectures).orElse(List.of());
        String rootClass = !architectures.isEmpty() ? architectures.getFirst()
                : known ? prefix + "ForCausalLM" : "PreTrainedModel";
        Shaper shaper = new Shaper(root, template.orElse(null), prefix, eps, rootClass);
        shaper.shape(root, null, shaper.path(""));
        return root;
    }

    /**
     * The module at {@code path}, made with its missing ancestors. Past {@link #DEEPEST} levels the rest of the path
     * is one module's name: PyTorch models nest a dozen levels at most, and a key of thousands of dots (valid in a
     * header) would otherwise make as many nested modules, each holding its whole path, and a repr whose indentation
     * alone grows with the square of the depth.
     */
    private static ModuleNode module(Map<String, ModuleNode> modules, String path) {
        ModuleNode node = modules.get(path);
        if (node != null) {
            return node;
        }
        int[] ends = new int[DEEPEST];
        int levels = 0;
        for (int dot = path.indexOf('.'); dot >= 0 && levels < DEEPEST - 1; dot = path.indexOf('.', dot + 1)) {
            ends[levels++] = dot;
        }
        ends[levels++] = path.length();
        int known = levels - 1;
        while (known >= 0 && (node = modules.get(path.substring(0, ends[known]))) == null) {
            known--;
        }
        if (node == null) {
            node = modules.get("");
        }
        for (int level = known + 1; level < levels; level++) {
            int start = level == 0 ? 0 : ends[level - 1] + 1;
            node = node.childOrCreate(path.substring(start, ends[level]));
            modules.put(path.substring(0, ends[level]), node);
        }
        return node;
    }

    /**
     * A module path with its indices as {@code #}, what the template says of it, and the paths below it by child
     * name. A model has few such paths however many experts it has, so each node finds its own from its parent's
     * by one small lookup, and the template is asked once per path.
     */
    private static final class TemplatePath {
        final String path;
        final TreeTemplate.Entry entry;
        List<String> implicitChildren;
        private final Map<String, TemplatePath> below = new HashMap<>();

        TemplatePath(String path, TreeTemplate.Entry entry) {
            this.path = path;
            this.entry = entry;
        }
    }

    /** Gives every node its class, order and extra repr. */
    private static final class Shaper {
        private final ModuleNode root;
        private final TreeTemplate template;
        private final String prefix;
        private final double eps;
        private final String rootClass;

        Shaper(ModuleNode root, TreeTemplate template, String prefix, double eps, String rootClass) {
            this.root = root;
            this.template = template;
            this.prefix = prefix;
            this.eps = eps;
            this.rootClass = rootClass;
        }

        TemplatePath path(String indexFreePath) {
            return new TemplatePath(indexFreePath,
                    template == null ? null : template.entryWithoutIndices(indexFreePath).orElse(null));
        }

        private TemplatePath below(TemplatePath parent, String childName) {
            String name = isIndex(childName) ? "#" : childName;
            TemplatePath p = parent.below.get(name);
            if (p == null) {
                p = path(parent.path.isEmpty() ? name : parent.path + "." + name);
                parent.below.put(name, p);
            }
            return p;
        }

        void shape(ModuleNode node, ModuleNode parent, TemplatePath path) {
            sortNumericChildren(node);
            TreeTemplate.Entry entry = path.entry;
            if (entry != null) {
                node.setClassName(entry.className());
                for (String child : implicitChildren(path)) {
                    node.childOrCreate(child);
                }
                orderChildren(node, entry.children());
            } else {
                node.setClassName(inferClass(node, parent));
            }
            for (ModuleNode c : node.children()) {
                shape(c, node, below(path, c.name()));
            }
            node.setExtraRepr(extraRepr(node, entry == null ? null : entry.shapeFrom()));
        }

        /** The children the template lists as present without tensors (an activation, rotary embeddings). */
        private List<String> implicitChildren(TemplatePath path) {
            if (path.implicitChildren == null) {
                String p = path.path;
                path.implicitChildren = path.entry.children().stream()
                        .filter(child -> template.entryWithoutIndices(p.isEmpty() ? child : p + "." + child)
                                .filter(TreeTemplate.Entry::implicit)
                                .filter(e -> e.shapeFrom() == null || root.find(e.shapeFrom()) != null)
                                .isPresent())
                        .toList();
            }
            return path.implicitChildren;
        }

        private String inferClass(ModuleNode node, ModuleNode parent) {
            if (parent == null) {
                return rootClass;
            }
            List<ModuleNode> children = node.children();
            if (!children.isEmpty() && allIndices(children)) {
                return "ModuleList";
            }
            Map<String, TensorSpec> params = node.parameters();
            TensorSpec weight = params.get("weight");
            if (children.isEmpty() && weight != null) {
                String n = node.name();
                if (weight.shape().rank() == 2) {
                    return n.contains("embed") || n.equals("wte") || n.equals("wpe") ? "Embedding" : "Linear";
                }
                if (weight.shape().rank() == 1 && (n.contains("norm") || n.startsWith("ln"))) {
                    return prefix + "RMSNorm";
                }
            }
            if (node.name().equals("model") && parent == root) {
                return prefix + "Model";
            }
            if (isIndex(node.name())) {
                return switch (parent.name()) {
                    case "layers", "h", "blocks" -> prefix + "DecoderLayer";
                    case "experts" -> prefix + "Expert";
                    default -> prefix + pascal(parent.name());
                };
            }
            return prefix + pascal(node.name());
        }

        private String extraRepr(ModuleNode node, String shapeFrom) {
            Map<String, TensorSpec> params = node.parameters();
            TensorSpec weight = params.get("weight");
            if (weight == null && shapeFrom != null) {
                ModuleNode source = root.find(shapeFrom);
                weight = source == null ? null : source.parameters().get("weight");
            }
            if (weight == null) {
                return "";
            }
            String c = node.className();
            if (c.equals("Linear") && weight.shape().rank() == 2) {
                return "in_features=" + weight.shape().dim(1) + ", out_features=" + weight.shape().dim(0)
                        + ", bias=" + (params.containsKey("bias") ? "True" : "False");
            }
            if (c.equals("Embedding") && weight.shape().rank() == 2) {
                return weight.shape().dim(0) + ", " + weight.shape().dim(1);
            }
            if (c.endsWith("RMSNorm") && weight.shape().rank() == 1) {
                return "(" + weight.shape().dim(0) + ",), eps=" + PythonFloat.repr(eps);
            }
            return "";
        }
    }

    private static boolean allIndices(List<ModuleNode> nodes) {
        for (ModuleNode c : nodes) {
            if (!isIndex(c.name())) {
                return false;
            }
        }
        return true;
    }

    /** Children named by indices, in numeric order (they arrive in key order, where "10" comes before "2"). */
    private static void sortNumericChildren(ModuleNode node) {
        List<ModuleNode> children = node.children();
        if (children.size() < 2 || !allIndices(children)) {
            return;
        }
        for (int i = 1; i < children.size(); i++) {
            if (Long.parseLong(children.get(i - 1).name()) > Long.parseLong(children.get(i).name())) {
                node.mutableChildren().sort(Comparator.comparingLong(c -> Long.parseLong(c.name())));
                return;
            }
        }
    }

    /** The children the template lists first, in its order, then the others as they came. */
    private static void orderChildren(ModuleNode node, List<String> order) {
        if (inOrder(node.children(), order)) {
            return;
        }
        List<ModuleNode> children = node.mutableChildren();
        List<ModuleNode> ordered = new ArrayList<>(children.size());
        for (String name : order) {
            ModuleNode c = node.child(name);
            if (c != null && !ordered.contains(c)) {
                ordered.add(c);
            }
        }
        for (ModuleNode c : children) {
            if (!order.contains(c.name())) {
                ordered.add(c);
            }
        }
        children.clear();
        children.addAll(ordered);
    }

    /** Whether the listed names come first among {@code children}, in the listed order. */
    private static boolean inOrder(List<ModuleNode> children, List<String> order) {
        int next = 0;
        for (ModuleNode c : children) {
            int at = order.indexOf(c.name());
            if (at < 0) {
                next = Integer.MAX_VALUE;
            } else if (at < next) {
                return false;
            } else {
                next = at;
            }
        }
        return true;
    }

    private static boolean isIndex(String s) {
        if (s.isEmpty() || s.length() > 18) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** {@code qwen2_moe} → {@code Qwen2Moe}. */
    static String pascal(String snake) {
        StringBuilder out = new StringBuilder();
        for (String part : snake.split("[_\\-.]")) {
            if (!part.isEmpty()) {
                out.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
            }
        }
        return out.toString();
    }
}
