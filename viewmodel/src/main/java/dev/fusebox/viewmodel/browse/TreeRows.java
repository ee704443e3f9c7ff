package dev.fusebox.viewmodel.browse;

import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.tree.ModuleNode;
import dev.fusebox.converter.tree.ModuleTree;
import dev.fusebox.converter.tree.ModuleTreeBuilder;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Builds the rows of one side's tree: the model's module tree (as transformers prints it where a template
 * describes the model, from {@link ModuleTreeBuilder}) with each module's tensors under it, and an adapter's LoRA
 * tensors under the module they modify. Tensors found in {@code stored} carry their bytes; the others are what a
 * conversion would write.
 */
public final class TreeRows {

    private TreeRows() {
    }

    /**
     * The rows of one side's tree.
     *
     * @param model   the model's tensors (may be empty when only an adapter is open)
     * @param adapter the adapter's tensors, keys with their PEFT prefix (may be empty)
     * @param stored  the tensors that exist in opened files, by key
     */
    public static TreeRow build(Side side, String modelType, Optional<ModelConfig> config, List<TensorSpec> model,
                                List<TensorSpec> adapter, Map<String, StoredTensor> stored) {
        if (model.isEmpty()) {
            return rows(side, ModuleTreeBuilder.build(adapter, modelType, config, side.layout()),
                    TreeRow.Kind.ADAPTER_TENSOR, stored, null);
        }
        if (adapter.isEmpty()) {
            return rows(side, ModuleTreeBuilder.build(model, modelType, config, side.layout()), TreeRow.Kind.TENSOR,
                    stored, null);
        }
        Map<String, TreeRow> modules = new HashMap<>();
        TreeRow root = rows(side, ModuleTreeBuilder.build(model, modelType, config, side.layout()),
                TreeRow.Kind.TENSOR, stored, modules);
        for (TensorSpec t : adapter) {
            String key = t.key().startsWith(ModuleTreeBuilder.PEFT_PREFIX)
                    ? t.key().substring(ModuleTreeBuilder.PEFT_PREFIX.length()) : t.key();
            TreeRow owner = root;
            String rest = key;
            int dot = key.indexOf('.');
            while (dot > 0) {
                TreeRow deeper = modules.get(key.substring(0, dot));
                if (deeper != null) {
                    owner = deeper;
                    rest = key.substring(dot + 1);
                }
                dot = key.indexOf('.', dot + 1);
            }
            owner.add(TreeRow.tensor(side, TreeRow.Kind.ADAPTER_TENSOR, rest, t, stored.get(t.key())));
        }
        return root;
    }

    /** The rows of a tree, its root's type saying where the tree comes from ("as transformers 5.18.0 prints it"). */
    private static TreeRow rows(Side side, ModuleTree tree, TreeRow.Kind tensorKind, Map<String, StoredTensor> stored,
                                Map<String, TreeRow> modules) {
        return rows(side, tree.root(), tree.description(), tensorKind, stored, modules);
    }

    /**
     * The rows of {@code node} and below; each module row is noted in {@code modules} by path, unless it is null. A
     * module the keys alone name (no class) shows no type: its tensors' rows show their shapes.
     */
    private static TreeRow rows(Side side, ModuleNode node, String rootType, TreeRow.Kind tensorKind,
                                Map<String, StoredTensor> stored, Map<String, TreeRow> modules) {
        boolean root = node.path().isEmpty();
        String type = root ? rootType : node.className().isEmpty() ? ""
                : node.extraRepr().isEmpty() ? node.className() : node.className() + "(" + node.extraRepr() + ")";
        String name = root ? (node.className().isEmpty() ? "checkpoint" : node.className()) : node.name();
        TreeRow row = TreeRow.module(side, name, node.path(), type);
        if (modules != null) {
            modules.put(node.path(), row);
        }
        node.parameters().forEach((param, spec) ->
                row.add(TreeRow.tensor(side, tensorKind, param, spec, stored.get(spec.key()))));
        for (ModuleNode child : node.children()) {
            row.add(rows(side, child, "", tensorKind, stored, modules));
        }
        return row;
    }
}
