package dev.fusebox.converter.tree;

import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One module of a model as PyTorch would hold it: a name within its parent, a class name, the one-line
 * {@code extra_repr} PyTorch prints (for a module only the keys name, its tensors' names and shapes), child
 * modules in definition order, and the tensors that are its own parameters (for Fusebox's views; PyTorch's repr
 * does not print them).
 */
public final class ModuleNode {

    /** Past this many children, a node finds a child by name in a map rather than by looking through them. */
    private static final int MOST_SCANNED_CHILDREN = 8;

    private final String name;
    private final String path;
    private String className;
    private String extraRepr = "";
    private boolean list;
    // Made on first use: most nodes of a large model are leaves with one tensor, and there are 100 000 of them.
    private List<ModuleNode> children = List.of();
    private Map<String, ModuleNode> childrenByName;
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

    /** PyTorch's class name, or "" for a module only the keys name (they do not say its class). */
    public String className() {
        return className;
    }

    public String extraRepr() {
        return extraRepr;
    }

    /** The child modules in definition order (a view; the tree does not change once built). */
    public List<ModuleNode> children() {
        return children.isEmpty() ? List.of() : Collections.unmodifiableList(children);
    }

    public ModuleNode child(String childName) {
        if (childrenByName != null) {
            return childrenByName.get(childName);
        }
        for (ModuleNode c : children) {
            if (c.name.equals(childName)) {
                return c;
            }
        }
        return null;
    }

    /** This module's own tensors, by parameter name ({@code weight}, {@code gate_up_proj}, ...). */
    public Map<String, TensorSpec> parameters() {
        return parameters instanceof LinkedHashMap ? Collections.unmodifiableMap(parameters) : parameters;
    }

    /** This module's tensors and those of every module below it, in tree order. */
    public List<TensorSpec> allTensors() {
        List<TensorSpec> out = new ArrayList<>(parameters.values());
        for (ModuleNode c : children) {
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
            n = n.child(part);
            if (n == null) {
                return null;
            }
        }
        return n;
    }

    /** Whether PyTorch prints this module as a ModuleList, folding runs of equal items. */
    public boolean isList() {
        return list;
    }

    void setList(boolean list) {
        this.list = list;
    }

    void setClassName(String className) {
        this.className = className;
    }

    void setExtraRepr(String extraRepr) {
        this.extraRepr = extraRepr;
    }

    ModuleNode childOrCreate(String childName) {
        ModuleNode c = child(childName);
        if (c == null) {
            c = new ModuleNode(childName, path.isEmpty() ? childName : path + "." + childName, "");
            if (children.isEmpty()) {
                children = new ArrayList<>(4);
            }
            children.add(c);
            if (childrenByName != null) {
                childrenByName.put(childName, c);
            } else if (children.size() > MOST_SCANNED_CHILDREN) {
                childrenByName = HashMap.newHashMap(children.size() * 2);
                children.forEach(k -> childrenByName.put(k.name, k));
            }
        }
        return c;
    }

    void addParameter(String parameterName, TensorSpec spec) {
        // One tensor, the common case, is an immutable map of one; a second makes an ordered map.
        if (parameters.isEmpty()) {
            parameters = Map.of(parameterName, spec);
            return;
        }
        if (!(parameters instanceof LinkedHashMap)) {
            parameters = new LinkedHashMap<>(parameters);
        }
        parameters.put(parameterName, spec);
    }

    /** The children, to be put in order while the tree is built. */
    List<ModuleNode> mutableChildren() {
        if (children.isEmpty()) {
            children = new ArrayList<>(4);
        }
        return children;
    }

    @Override
    public String toString() {
        return path.isEmpty() ? className : path + " (" + className + ")";
    }
}
