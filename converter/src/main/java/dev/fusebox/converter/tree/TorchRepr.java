package dev.fusebox.converter.tree;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prints a module tree exactly as {@code print(model)} does in PyTorch: {@code Module.__repr__} with
 * {@code _addindent}, and {@code ModuleList.__repr__}, which folds runs of children whose text is equal into
 * {@code (0-3): 4 x ...}.
 */
public final class TorchRepr {

    private TorchRepr() {
    }

    /** The text {@code print(model)} writes, with its final newline. */
    public static String print(ModuleNode root) {
        return repr(root) + "\n";
    }

    /** {@code repr(module)}. */
    public static String repr(ModuleNode node) {
        return repr(node, new IdentityHashMap<>());
    }

    /** Each node's text is made once: a list compares its items' texts, and its parent embeds them again. */
    private static String repr(ModuleNode node, Map<ModuleNode, String> made) {
        String text = made.get(node);
        if (text == null) {
            text = node.isList() ? listRepr(node, made) : moduleRepr(node, made);
            made.put(node, text);
        }
        return text;
    }

    private static String moduleRepr(ModuleNode node, Map<ModuleNode, String> made) {
        List<String> extraLines = node.extraRepr().isEmpty() ? List.of() : List.of(node.extraRepr().split("\n", -1));
        List<String> childLines = new ArrayList<>();
        for (ModuleNode c : node.children()) {
            childLines.add("(" + c.name() + "): " + addIndent(repr(c, made), 2));
        }
        StringBuilder s = new StringBuilder(node.className()).append('(');
        if (!extraLines.isEmpty() || !childLines.isEmpty()) {
            if (extraLines.size() == 1 && childLines.isEmpty()) {
                s.append(extraLines.getFirst());
            } else {
                List<String> lines = new ArrayList<>(extraLines);
                lines.addAll(childLines);
                s.append("\n  ").append(String.join("\n  ", lines)).append('\n');
            }
        }
        return s.append(')').toString();
    }

    private static String listRepr(ModuleNode node, Map<ModuleNode, String> made) {
        List<ModuleNode> items = node.children();
        if (items.isEmpty()) {
            return node.className() + "()";
        }
        List<String> lines = new ArrayList<>();
        int i = 0;
        while (i < items.size()) {
            String block = repr(items.get(i), made);
            int end = i;
            while (end + 1 < items.size() && repr(items.get(end + 1), made).equals(block)) {
                end++;
            }
            String local = i == end ? "(" + items.get(i).name() + "): " + block
                    : "(" + items.get(i).name() + "-" + items.get(end).name() + "): " + (end - i + 1) + " x " + block;
            lines.add(addIndent(local, 2));
            i = end + 1;
        }
        return node.className() + "(\n  " + String.join("\n  ", lines) + "\n)";
    }

    /** PyTorch's {@code _addindent}: every line but the first indented by {@code spaces}. */
    static String addIndent(String s, int spaces) {
        String[] lines = s.split("\n", -1);
        if (lines.length == 1) {
            return s;
        }
        String pad = " ".repeat(spaces);
        StringBuilder out = new StringBuilder(lines[0]);
        for (int i = 1; i < lines.length; i++) {
            out.append('\n').append(pad).append(lines[i]);
        }
        return out.toString();
    }
}
