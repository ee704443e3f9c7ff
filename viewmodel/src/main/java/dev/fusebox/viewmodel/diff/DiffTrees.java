package dev.fusebox.viewmodel.diff;

import dev.fusebox.converter.convert.DiffReport;
import dev.fusebox.converter.convert.Difference;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TensorLink;
import dev.fusebox.viewmodel.browse.TensorLinks;
import dev.fusebox.viewmodel.browse.TreeRow;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A's and B's module trees with every row marked by what differs, from a diff report made in A's layout. Where B
 * was read in A's layout through a conversion plan, a tensor of B takes the state of the A tensors it becomes (and
 * a fused one shows them as its parts), or, when it is a part of one of A's fused tensors, that part's; without a
 * plan, keys match as they are.
 *
 * @param a A's tree
 * @param b B's tree
 */
public record DiffTrees(DiffNode a, DiffNode b) {

    /**
     * The two trees of a diff report.
     *
     * @param links  which of A's tensors each of B's becomes, asked with {@code bSide}; {@link TensorLinks#NONE}
     *               when B was compared as stored
     * @param mapped whether B was read in A's layout (its keys are not A's)
     */
    public static DiffTrees of(DiffReport report, TreeRow aRows, TreeRow bRows, TensorLinks links, Side bSide,
                               boolean mapped) {
        Facts facts = new Facts(report);
        DiffNode a = build(aRows, true, row -> aLeaf(row, facts));
        DiffNode b = build(bRows, false, row -> mapped ? mappedBLeaf(row, facts, links, bSide) : bLeaf(row, facts));
        return new DiffTrees(a, b);
    }

    /** The report by key, in A's layout. */
    private static final class Facts {
        final Set<String> onlyInA = new HashSet<>();
        final Map<String, TensorSpec> onlyInB = new HashMap<>();
        final Set<String> madeForOnlyInB = new HashSet<>();
        final Map<String, DiffReport.Change> changed = new HashMap<>();
        final Map<String, DiffReport.ValueDiff> values = new HashMap<>();
        final Map<String, DiffReport.PartDiff> parts = new HashMap<>();

        Facts(DiffReport r) {
            r.onlyInA().forEach(t -> onlyInA.add(t.key()));
            r.onlyInB().forEach(t -> {
                onlyInB.put(t.spec().key(), t.spec());
                madeForOnlyInB.addAll(t.from());
            });
            r.changed().forEach(c -> changed.put(c.key(), c));
            r.values().orElse(List.of()).forEach(v -> {
                values.put(v.key(), v);
                v.parts().forEach(p -> parts.put(p.name(), p));
            });
        }
    }

    private interface Leaf {
        DiffNode of(TreeRow row);
    }

    private static DiffNode build(TreeRow row, boolean inA, Leaf leaf) {
        if (row.isTensor()) {
            return leaf.of(row);
        }
        DiffNode node = DiffNode.module(inA, row);
        row.children().forEach(c -> node.add(build(c, inA, leaf)));
        return node;
    }

    private static DiffNode aLeaf(TreeRow row, Facts f) {
        String key = row.path();
        if (f.onlyInA.contains(key)) {
            return DiffNode.tensor(true, row, Set.of(key), DiffState.ONLY_IN_A, null, "");
        }
        DiffReport.Change c = f.changed.get(key);
        if (c != null) {
            return DiffNode.tensor(true, row, Set.of(key), DiffState.CHANGED, null, "B has " + spec(c.b()));
        }
        return compared(true, row, Set.of(key), f.values.get(key));
    }

    /** B's tensor under the key A has it under. */
    private static DiffNode bLeaf(TreeRow row, Facts f) {
        String key = row.path();
        if (f.onlyInB.containsKey(key)) {
            return DiffNode.tensor(false, row, Set.of(key), DiffState.ONLY_IN_B, null, "");
        }
        DiffReport.Change c = f.changed.get(key);
        if (c != null) {
            return DiffNode.tensor(false, row, Set.of(key), DiffState.CHANGED, null, "A has " + spec(c.a()));
        }
        return compared(false, row, Set.of(key), f.values.get(key));
    }

    /** B's tensor in B's layout: what it becomes in A's, or the part of A's fused tensor it is. */
    private static DiffNode mappedBLeaf(TreeRow row, Facts f, TensorLinks links, Side bSide) {
        String key = row.path();
        Set<String> becomes = new LinkedHashSet<>();
        for (TensorLink l : links.of(bSide, key)) {
            becomes.add(l.key());
        }
        Set<String> matches = new LinkedHashSet<>(becomes);
        matches.add(key);
        if (f.madeForOnlyInB.contains(key)) {
            return DiffNode.tensor(false, row, matches, DiffState.ONLY_IN_B, null, "");
        }
        if (becomes.isEmpty()) {
            return DiffNode.tensor(false, row, matches, DiffState.ONLY_IN_B, null, "not read in A's layout");
        }
        DiffReport.PartDiff part = f.parts.get(key);
        if (part != null) {
            Difference d = part.difference();
            return DiffNode.tensor(false, row, matches, d.identical() ? DiffState.SAME : DiffState.VALUES, d,
                    "part " + part.slice() + " of A's " + String.join(", ", becomes));
        }
        DiffState state = DiffState.SAME;
        Difference sum = null;
        boolean allCompared = true;
        for (String k : becomes) {
            DiffState s = f.onlyInA.contains(k) ? DiffState.ONLY_IN_A : f.changed.containsKey(k) ? DiffState.CHANGED
                    : f.onlyInB.containsKey(k) ? DiffState.ONLY_IN_B : DiffState.SAME;
            DiffReport.ValueDiff v = f.values.get(k);
            if (v == null) {
                allCompared = false;
            } else {
                sum = sum == null ? v.whole() : sum.plus(v.whole());
                s = v.identical() ? s : s.and(DiffState.VALUES);
            }
            state = state.and(s);
        }
        DiffNode node = DiffNode.tensor(false, row, matches, state, allCompared ? sum : null,
                becomes.size() == 1 && becomes.contains(key) ? "" : "as " + describe(becomes));
        // A fused tensor of B shows, part by part, the tensors of A it holds.
        for (TensorLink l : links.of(bSide, key)) {
            DiffReport.ValueDiff v = f.values.get(l.key());
            if (!l.region().isEmpty() && v != null) {
                node.add(DiffNode.part(false, l.key(), l.region(), v.whole()));
            }
        }
        return node;
    }

    private static DiffNode compared(boolean inA, TreeRow row, Set<String> matches, DiffReport.ValueDiff v) {
        if (v == null) {
            return DiffNode.tensor(inA, row, matches, DiffState.SAME, null, "");
        }
        DiffNode node = DiffNode.tensor(inA, row, matches, v.identical() ? DiffState.SAME : DiffState.VALUES,
                v.whole(), v.identical() ? "" : Figures.count(v.differingElements()) + " elements");
        v.parts().forEach(p -> node.add(DiffNode.part(inA, p.name(), p.slice(), p.difference())));
        return node;
    }

    private static String describe(Set<String> keys) {
        String first = keys.iterator().next();
        return keys.size() == 1 ? first : first + " + " + (keys.size() - 1) + " more";
    }

    private static String spec(TensorSpec t) {
        return t.shape() + " " + t.dtype().name();
    }
}
