package dev.fusebox.converter.tree;

import dev.fusebox.converter.safetensors.TensorSpec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One module of a model as PyTorch would hold it: a name within its parent, a class name, the one-line
 * {@code extra_repr} PyTorch prints, child modules in definition order, and the tensors that are its own
 * parameters (for Fusebox's views; PyTorch's repr does not print them).
 */
public final class ModuleNode {

    private final String name;
    private final String path;
    private String className;
    private String extraRepr = "";
    // Made on first use: most nodes of a large model are leaves with one tensor, and there are 100 000 of them.
    private Map<String, ModuleNode> children = Map.of();
    private Map<String, TensorSpec> parameters = Map.of();

    ModuleNode(String name, String path, String className) {
        this.name = name;
        this.path = path;
        this.className = className;
    }

    /** The attribute name in the parent ("" for the root). */
    public String name() {
        return name;
    }

    /** The dotted path from the root, as state-dict keys spell it ("" for the root). */
    public String path() {
        return path;
    }

    public String className() {
        return className;
    }

    public String extraRepr() {
        return extraRepr;
    }

    public List<ModuleNode> children() {
        return children.isEmpty() ? List.of() : List.copyOf(children.values());
    }

    public ModuleNode child(String childName) {
        return children.get(childName);
    }

    /** This module's own tensors, by parameter name ({@code weight}, {@code gate_up_proj}, ...). */
    public Map<String, TensorSpec> parameters() {
        return parameters.isEmpty() ? Map.of() : Collections.unmodifiableMap(parameters);
    }

    /** This module's tensors and those of every module below it, in tree order. */
    public List<TensorSpec> allTensors() {
        List<TensorSpec> out = new ArrayList<>(parameters.values());
        for (ModuleNode c : children.values()) {
            out.addAll(c.allTensors());
        }
        return out;
    }

    /** The module at a dotted path below this one, or null. */
    public ModuleNode find(String dottedPath) {
        if (dottedPath.isEmpty()) {
            return this;
        }
        ModuleNode n = this;
        for (String part : dottedPath.split("\\.")) {
            n = n.children.get(part);
            if (n == null) {
                return null;
            }
        }
        return n;
    }

    public boolean isList() {
        return className.equals("ModuleList");
    }

    void setClassName(String className) {
        this.className = className;
    }

    void setExtraRepr(String extraRepr) {
        this.extraRepr = extraRepr;
    }

    ModuleNode childOrCreate(String childName) {
        return mutableChildren().computeIfAbsent(childName,
                n -> new ModuleNode(n, path.isEmpty() ? n : path + "." + n, ""));
    }

    void addParameter(String parameterName, TensorSpec spec) {
        if (parameters.isEmpty()) {
            parameters = new LinkedHashMap<>(4);
        }
        parameters.put(parameterName, spec);
    }

    Map<String, ModuleNode> mutableChildren() {
        if (children.isEmpty()) {
            children = new LinkedHashMap<>(8);
        }
        return children;
    }

    @Override
    public String toString() {
        return path.isEmpty() ? className : path + " (" + className + ")";
    }
}
