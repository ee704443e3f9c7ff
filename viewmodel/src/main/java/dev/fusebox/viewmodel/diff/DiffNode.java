package dev.fusebox.viewmodel.diff;

import dev.fusebox.converter.convert.Difference;
import dev.fusebox.viewmodel.browse.TreeRow;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One row of a diff tree: a module or tensor of A's or B's module tree, or a part of a fused tensor (one expert's
 * gate or up projection), with what differs there and, once values are compared, by how much. A module's state
 * and figures are its tensors' summed.
 */
public final class DiffNode {

    /** What a node stands for. */
    public enum Kind { MODULE, TENSOR, PART }

    private final boolean inA;
    private final Kind kind;
    private final String name;
    private final String key;
    private final String description;
    private final Set<String> matches;
    private final List<DiffNode> children = new ArrayList<>();
    private final Map<DiffState, Integer> counts = new EnumMap<>(DiffState.class);
    private DiffNode parent;
    private DiffState state;
    private Difference difference;
    private String detail;

    private DiffNode(boolean inA, Kind kind, String name, String key, String description, Set<String> matches,
                     DiffState state, Difference difference, String detail) {
        this.inA = inA;
        this.kind = kind;
        this.name = name;
        this.key = key;
        this.description = description;
        this.matches = Set.copyOf(matches);
        this.state = state;
        this.difference = difference;
        this.detail = detail;
        if (kind != Kind.MODULE) {
            counts.put(state, 1);
        }
    }

    static DiffNode module(boolean inA, TreeRow row) {
        return new DiffNode(inA, Kind.MODULE, row.name(), row.path(), row.type(), Set.of(), DiffState.SAME, null, "");
    }

    static DiffNode tensor(boolean inA, TreeRow row, Set<String> matches, DiffState state, Difference difference,
                           String detail) {
        return new DiffNode(inA, Kind.TENSOR, row.name(), row.path(), row.shapeText() + " " + row.dtypeText(),
                matches, state, difference, detail);
    }

    /** A part of a fused tensor: {@code name} is the tensor it is in the other layout, {@code slice} where. */
    static DiffNode part(boolean inA, String name, String slice, Difference difference) {
        int experts = name.lastIndexOf(".experts.");
        String shown = experts < 0 ? name : name.substring(experts + 1);
        return new DiffNode(inA, Kind.PART, shown, name, slice, Set.of(name),
                difference.identical() ? DiffState.SAME : DiffState.VALUES, difference, "");
    }

    /** Adds {@code child} below this node; a module's state and figures take the child's in. */
    void add(DiffNode child) {
        child.parent = this;
        children.add(child);
        if (kind == Kind.MODULE) {
            state = state.and(child.state);
            child.counts.forEach((s, n) -> counts.merge(s, n, Integer::sum));
            if (child.difference != null) {
                difference = difference == null ? child.difference : difference.plus(child.difference);
            }
        }
    }

    /** Whether this node is in A's tree (else in B's). */
    public boolean inA() {
        return inA;
    }

    public Kind kind() {
        return kind;
    }

    /** The name within the parent; for a part, the tensor it is in the other layout, from its experts on. */
    public String name() {
        return name;
    }

    /** A module's path or a tensor's key (in its own checkpoint's layout); for a part, its name. */
    public String key() {
        return key;
    }

    /** A module's class, a tensor's shape and dtype, a part's slice of its fused tensor. */
    public String description() {
        return description;
    }

    public DiffState state() {
        return state;
    }

    /** Whether anything differs here or below. */
    public boolean differs() {
        return state != DiffState.SAME;
    }

    /** The compared values' figures here (summed below a module); empty where no values were compared. */
    public Optional<Difference> difference() {
        return Optional.ofNullable(difference);
    }

    /**
     * What differs, in words: a tensor's other shape or where it comes from; for a module, how many of its tensors
     * differ.
     */
    public String detail() {
        if (kind != Kind.MODULE) {
            return detail.isEmpty() ? state.label() : state.label() + ": " + detail;
        }
        int all = counts.values().stream().mapToInt(Integer::intValue).sum();
        int same = counts.getOrDefault(DiffState.SAME, 0);
        if (all == 0) {
            return "";
        }
        return same == all ? "all " + all + " same" : (all - same) + " of " + all + " differ";
    }

    /** The names of A's tensors, or of parts, that this tensor or part stands for; what links it across. */
    Set<String> matches() {
        return matches;
    }

    public List<DiffNode> children() {
        return Collections.unmodifiableList(children);
    }

    public Optional<DiffNode> parent() {
        return Optional.ofNullable(parent);
    }

    /** This node's tensors and parts, and every one below it. */
    public List<DiffNode> leaves() {
        List<DiffNode> out = new ArrayList<>();
        collect(this, out);
        return out;
    }

    private static void collect(DiffNode n, List<DiffNode> out) {
        if (n.kind != Kind.MODULE) {
            out.add(n);
        }
        n.children.forEach(c -> collect(c, out));
    }

    public boolean contains(DiffNode other) {
        for (DiffNode n = other; n != null; n = n.parent) {
            if (n == this) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return (inA ? "A:" : "B:") + key + " " + state;
    }
}
