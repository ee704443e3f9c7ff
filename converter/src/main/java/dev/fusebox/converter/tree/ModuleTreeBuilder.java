package dev.fusebox.converter.tree;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Builds the module tree of a model from its tensor keys (real ones, or the keys a plan will write) and its
 * config: as transformers prints it, from the bundled {@link TreeTemplate} of the model type in the layout asked
 * for (or, for a type transformers 4.x does not have, the v5 template over the per-expert keys), or from the keys
 * alone where no template describes the model.
 */
public final class ModuleTreeBuilder {

    /** The prefix PEFT puts before every key of an adapter. */
    public static final String PEFT_PREFIX = "base_model.model.";

    /** The deepest a module tree goes; see {@link #module}. */
    static final int DEEPEST = 32;

    private ModuleTreeBuilder() {
    }

    /** The tree of a model's tensors in {@code layout}; adapter keys are read without their PEFT prefix. */
    public static ModuleTree build(List<TensorSpec> tensors, String modelType, Optional<ModelConfig> config,
                                   Layout layout) {
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
        ObjectNode raw = config.map(ModelConfig::raw).orElseGet(JsonNodeFactory.instance::objectNode);
        // Outside the expert modules the two layouts are one, so a checkpoint of neither gets the v5 tree.
        Optional<TreeTemplate> own = TreeTemplate.of(modelType, layout == Layout.UNKNOWN ? Layout.V5 : layout);
        Optional<TreeTemplate> template = own.or(() -> layout == Layout.LEGACY
                ? TreeTemplate.of(modelType, Layout.V5) : Optional.empty());
        if (template.isEmpty()) {
            KeyTreeNames.name(root);
            return new ModuleTree(root, false, "from the keys: Fusebox has no module template for model type '"
                    + modelType + "'");
        }
        TreeTemplate t = template.get();
        boolean exact = TemplateShaper.shape(root, t, raw, own.isEmpty());
        String version = "transformers " + t.transformersVersion();
        if (own.isEmpty()) {
            return new ModuleTree(root, false, "the per-expert tree the legacy files imply: transformers 4.x has no '"
                    + modelType + "'; class names of " + version + " where its modules are the same");
        }
        return new ModuleTree(root, exact, exact ? "as " + version + " prints it"
                : "as " + version + " prints it where the keys match its modules, the rest from the keys");
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
}
