package dev.fusebox.converter.tree;

import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The tree of modules as the keys alone tell it, for what no template describes: no class names (the keys do not
 * say them), each module's text its own tensors' names and shapes, and children named by indices in numeric
 * order, runs of equal ones folded as PyTorch folds a ModuleList.
 */
final class KeyTreeNames {

    private KeyTreeNames() {
    }

    /** Names {@code node} and everything below it from the keys (without recursion: keys may nest deeply). */
    static void name(ModuleNode top) {
        ArrayDeque<ModuleNode> pending = new ArrayDeque<>();
        pending.push(top);
        while (!pending.isEmpty()) {
            ModuleNode node = pending.pop();
            node.setClassName("");
            List<String> tensors = new ArrayList<>();
            for (Map.Entry<String, TensorSpec> e : node.parameters().entrySet()) {
                tensors.add(e.getKey() + " " + e.getValue().shape());
            }
            node.setExtraRepr(String.join(", ", tensors));
            node.setList(!node.children().isEmpty() && allIndices(node.children()));
            sortNumericChildren(node);
            node.children().forEach(pending::push);
        }
    }

    static boolean allIndices(List<ModuleNode> nodes) {
        for (ModuleNode c : nodes) {
            if (!isIndex(c.name())) {
                return false;
            }
        }
        return true;
    }

    /** Children named by indices, in numeric order (they arrive in key order, where "10" comes before "2"). */
    static void sortNumericChildren(ModuleNode node) {
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

    static boolean isIndex(String s) {
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
}
