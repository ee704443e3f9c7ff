package dev.fusebox.converter.tree;

import dev.fusebox.converter.TerminalText;

import java.util.ArrayList;
import java.util.List;

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
        return node.isList() ? listRepr(node) : moduleRepr(node);
    }

    private static String moduleRepr(ModuleNode node) {
        List<String> extraLines = node.extraRepr().isEmpty() ? List.of() : List.of(node.extraRepr().split("\n", -1));
        List<String> childLines = new ArrayList<>();
        for (ModuleNode c : node.children()) {
            childLines.add("(" + TerminalText.escape(c.name()) + "): " + addIndent(repr(c), 2));
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

    private static String listRepr(ModuleNode node) {
        List<ModuleNode> items = node.children();
        if (items.isEmpty()) {
            return node.className() + "()";
        }
        // Each item's text once: the run comparison below would otherwise make it twice, and nested lists
        // (experts in layers) multiply that.
        String[] texts = new String[items.size()];
        for (int k = 0; k < texts.length; k++) {
            texts[k] = repr(items.get(k));
        }
        List<String> lines = new ArrayList<>();
        int i = 0;
        while (i < items.size()) {
            String block = texts[i];
            int end = i;
            while (end + 1 < items.size() && texts[end + 1].equals(block)) {
                end++;
            }
            String local = i == end ? "(" + TerminalText.escape(items.get(i).name()) + "): " + block
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
