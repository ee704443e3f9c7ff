package dev.fusebox.converter.tree;

import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.safetensors.TensorSpec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
        Shaper shaper = new Shaper(root, template.orElse(null), prefix, eps, rootClass, new HashMap<>());
        shaper.shape(root, null, "");
        return root;
    }

    private static ModuleNode module(Map<String, ModuleNode> modules, String path) {
        ModuleNode node = modules.get(path);
        if (node == null) {
            int dot = path.lastIndexOf('.');
            node = module(modules, dot > 0 ? path.substring(0, dot) : "").childOrCreate(path.substring(dot + 1));
            modules.put(path, node);
        }
        return node;
    }

    /**
     * Gives every node its class, order and extra repr. Template entries are looked up by the path with indices
     * as {@code #}, carried down the recursion, so a model with thousands of experts makes a handful of lookups.
     */
    private record Shaper(ModuleNode root, TreeTemplate template, String prefix, double eps, String rootClass,
                          Map<String, List<String>> implicitChildren) {

        void shape(ModuleNode node, ModuleNode parent, String indexFreePath) {
            sortNumericChildren(node);
            Optional<TreeTemplate.Entry> entry = template == null ? Optional.empty()
                    : template.entryWithoutIndices(indexFreePath);
            if (entry.isPresent()) {
                node.setClassName(entry.get().className());
                for (String child : implicitChildren(indexFreePath, entry.get())) {
                    node.childOrCreate(child);
                }
                orderChildren(node, entry.get().children());
            } else {
                node.setClassName(inferClass(node, parent));
            }
            for (ModuleNode c : node.children()) {
                String name = isIndex(c.name()) ? "#" : c.name();
                shape(c, node, indexFreePath.isEmpty() ? name : indexFreePath + "." + name);
            }
            node.setExtraRepr(extraRepr(node, entry.map(TreeTemplate.Entry::shapeFrom).orElse(null)));
        }

        /** The children the template lists as present without tensors (an activation, rotary embeddings). */
        private List<String> implicitChildren(String indexFreePath, TreeTemplate.Entry entry) {
            return implicitChildren.computeIfAbsent(indexFreePath, p -> entry.children().stream()
                    .filter(child -> template.entryWithoutIndices(p.isEmpty() ? child : p + "." + child)
                            .filter(TreeTemplate.Entry::implicit)
                            .filter(e -> e.shapeFrom() == null || root.find(e.shapeFrom()) != null)
                            .isPresent())
                    .toList());
        }

        private String inferClass(ModuleNode node, ModuleNode parent) {
            if (parent == null) {
                return rootClass;
            }
            if (!node.children().isEmpty() && node.children().stream().allMatch(c -> isIndex(c.name()))) {
                return "ModuleList";
            }
            Map<String, TensorSpec> params = node.parameters();
            TensorSpec weight = params.get("weight");
            if (node.children().isEmpty() && weight != null) {
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
            TensorSpec weight = node.parameters().get("weight");
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
                        + ", bias=" + (node.parameters().containsKey("bias") ? "True" : "False");
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

    private static void sortNumericChildren(ModuleNode node) {
        Map<String, ModuleNode> children = node.mutableChildren();
        if (children.isEmpty() || !children.keySet().stream().allMatch(ModuleTreeBuilder::isIndex)) {
            return;
        }
        List<ModuleNode> sorted = new ArrayList<>(children.values());
        sorted.sort(Comparator.comparingLong(c -> Long.parseLong(c.name())));
        children.clear();
        sorted.forEach(c -> children.put(c.name(), c));
    }

    private static void orderChildren(ModuleNode node, List<String> order) {
        Map<String, ModuleNode> children = node.mutableChildren();
        if (inOrder(children.keySet(), order)) {
            return;
        }
        Map<String, ModuleNode> ordered = new LinkedHashMap<>();
        for (String name : order) {
            ModuleNode c = children.get(name);
            if (c != null) {
                ordered.put(name, c);
            }
        }
        children.forEach(ordered::putIfAbsent);
        children.clear();
        children.putAll(ordered);
    }

    /** Whether the listed names come first among {@code names}, in the listed order. */
    private static boolean inOrder(java.util.Set<String> names, List<String> order) {
        int next = 0;
        for (String name : names) {
            int at = order.indexOf(name);
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
