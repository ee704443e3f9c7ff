package dev.fusebox.converter.rules;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A converter: tensors matched by {@code sources} (in order; a {@code *} collects every expert) become the tensors
 * named by {@code targets} through {@code operations}. Checked on construction so that the chain is well formed and
 * runs both ways: every slot meets the operations it can take, at most one concat or chunk changes the number of
 * slots, and the slots left at the end are the targets, indexed where a target has a {@code *}. A converter that
 * starts with {@link Operation.SplitExperts} runs the rest of its chain once per target (one group of experts
 * each); one that ends with {@link Operation.JoinExperts} runs the rest once per source.
 *
 * <p>A converter whose sources are its targets takes the same key in both layouts, so the key cannot say which
 * way to convert it: such a converter must carry {@code layoutShapes}, and its tensor's shape says (only such a
 * converter may carry them).
 */
public record Converter(List<KeyPattern> sources, List<KeyPattern> targets, List<Operation> operations,
                        Optional<LayoutShapes> layoutShapes) {

    public Converter {
        sources = List.copyOf(sources);
        targets = List.copyOf(targets);
        operations = List.copyOf(operations);
        if (sources.isEmpty() || targets.isEmpty()) {
            throw new IllegalArgumentException("a converter needs at least one source and one target");
        }
        if (operations.isEmpty()) {
            throw new IllegalArgumentException("a converter needs at least one operation (a plain rename is a renaming)");
        }
        checkSlots(sources, targets, operations);
        checkLayoutShapes(sources, targets, layoutShapes.isPresent());
    }

    /** A converter whose keys tell the layout. */
    public Converter(List<KeyPattern> sources, List<KeyPattern> targets, List<Operation> operations) {
        this(sources, targets, operations, Optional.empty());
    }

    /**
     * A converter whose tensor's shape tells the layout, {@code v5Shape} in the v5 layout; its keys are checked
     * before the shapes are worked out, so that a rule on the wrong converter hears that first.
     */
    public static Converter shapeTold(List<KeyPattern> sources, List<KeyPattern> targets, List<Operation> operations,
                                      ConfigShape v5Shape) {
        checkLayoutShapes(sources, targets, true);
        return new Converter(sources, targets, operations, Optional.of(LayoutShapes.of(v5Shape, operations)));
    }

    /** The converter that undoes this one: targets become sources, the inverse operations run in reverse order. */
    public Converter reversed() {
        List<Operation> inverse = new ArrayList<>();
        for (Operation op : operations.reversed()) {
            inverse.add(op.inverse());
        }
        return new Converter(targets, sources, inverse, layoutShapes);
    }

    /**
     * How many groups of experts the chain runs on, each on its own: the targets when it starts with
     * {@code split_experts}, the sources when it ends with {@code join_experts}, else 1.
     */
    public int expertGroups() {
        if (splitsExperts()) {
            return targets.size();
        }
        return joinsExperts() ? sources.size() : 1;
    }

    /** How many targets each group's chain makes: one when the chain splits experts into groups, else all. */
    public int targetsPerGroup() {
        return splitsExperts() ? 1 : targets.size();
    }

    /** Whether the chain starts with {@code split_experts}. */
    public boolean splitsExperts() {
        return operations.getFirst() instanceof Operation.SplitExperts;
    }

    /** Whether the chain ends with {@code join_experts}. */
    public boolean joinsExperts() {
        return operations.getLast() instanceof Operation.JoinExperts;
    }

    /** Whether the tensor's shape, not its key, tells which layout it is in. */
    public boolean shapeTellsLayout() {
        return layoutShapes.isPresent();
    }

    /** The operations as plans print them. */
    public List<String> describeOperations() {
        return operations.stream().map(Operation::describe).toList();
    }

    @Override
    public String toString() {
        return sources + " → " + targets;
    }

    private static void checkSlots(List<KeyPattern> sources, List<KeyPattern> targets, List<Operation> operations) {
        boolean split = checkGroups(sources, targets, operations);
        boolean join = operations.getLast() instanceof Operation.JoinExperts;
        // Every group runs the same chain, so one group's slots stand for all.
        List<Boolean> indexed = new ArrayList<>(join ? List.of(sources.getFirst().indexed())
                : sources.stream().map(KeyPattern::indexed).toList());
        int perGroup = split ? 1 : targets.size();
        int countChanges = 0;
        for (Operation op : operations) {
            switch (op) {
                case Operation.SplitExperts s -> {
                    if (indexed.contains(false)) {
                        throw new IllegalArgumentException(op.describe() + " needs every source to be a list of "
                                + "experts (a pattern with '*')");
                    }
                }
                case Operation.JoinExperts j -> {
                    if (indexed.contains(false)) {
                        throw new IllegalArgumentException(op.describe() + " needs the operations before it to leave "
                                + "lists of experts");
                    }
                }
                case Operation.Stack s -> {
                    if (indexed.contains(false)) {
                        throw new IllegalArgumentException(op.describe() + " needs every slot to be a list of experts "
                                + "(a pattern with '*')");
                    }
                    indexed.replaceAll(x -> false);
                }
                case Operation.Unstack u -> {
                    if (indexed.contains(true)) {
                        throw new IllegalArgumentException(op.describe() + " needs every slot to be one tensor");
                    }
                    indexed.replaceAll(x -> true);
                }
                case Operation.Concat c -> {
                    if (indexed.size() < 2 || indexed.contains(true)) {
                        throw new IllegalArgumentException(op.describe() + " needs two or more slots of one tensor each");
                    }
                    indexed = new ArrayList<>(List.of(false));
                    countChanges++;
                }
                case Operation.Chunk c -> {
                    if (indexed.size() != 1 || indexed.getFirst() || perGroup < 2) {
                        throw new IllegalArgumentException(op.describe() + " needs one slot of one tensor and two or "
                                + "more targets" + (split ? " per group" : ""));
                    }
                    indexed = new ArrayList<>();
                    for (int i = 0; i < perGroup; i++) {
                        indexed.add(false);
                    }
                    countChanges++;
                }
                case Operation.Transpose t -> {
                    if (t.dim0() < 0 || t.dim1() < 0 || t.dim0() == t.dim1()) {
                        throw new IllegalArgumentException(op.describe() + " needs two different axes");
                    }
                }
                case Operation.Interleave i -> {
                }
            }
            if (dimOf(op) < 0) {
                throw new IllegalArgumentException(op.describe() + " names a negative axis");
            }
        }
        if (countChanges > 1) {
            throw new IllegalArgumentException("a converter may join or split slots once (one concat or chunk)");
        }
        if (indexed.size() != perGroup) {
            throw new IllegalArgumentException("the operations leave " + indexed.size() + " tensor(s) for "
                    + perGroup + " target(s)" + (split ? " per group" : ""));
        }
        for (int i = 0; i < targets.size(); i++) {
            boolean list = indexed.get(split ? 0 : i);
            if (list != targets.get(i).indexed()) {
                throw new IllegalArgumentException("target '" + targets.get(i) + "' " + (list
                        ? "receives a list of experts, so it needs a '*'" : "receives one tensor, so it cannot have a '*'"));
            }
        }
    }

    /**
     * Where {@code split_experts} and {@code join_experts} may stand: split first, join last, one of them at most,
     * one group per target (split) or per source (join), and a join's sources all one tensor or all lists, so that
     * every group runs the same chain. Returns whether the chain splits.
     */
    private static boolean checkGroups(List<KeyPattern> sources, List<KeyPattern> targets, List<Operation> operations) {
        long grouping = operations.stream()
                .filter(op -> op instanceof Operation.SplitExperts || op instanceof Operation.JoinExperts).count();
        boolean split = operations.getFirst() instanceof Operation.SplitExperts;
        boolean join = operations.getLast() instanceof Operation.JoinExperts;
        if (grouping > 1) {
            throw new IllegalArgumentException("a converter may split_experts or join_experts once");
        }
        if (grouping == 1 && !split && !join) {
            throw new IllegalArgumentException("split_experts must come first and join_experts last");
        }
        if (split && targets.size() < 2) {
            throw new IllegalArgumentException("split_experts needs two or more targets, one per group of experts");
        }
        if (join && (sources.size() < 2 || sources.stream().map(KeyPattern::indexed).distinct().count() > 1)) {
            throw new IllegalArgumentException("join_experts needs two or more sources, one per group of experts, "
                    + "all alike (each one tensor, or each a list of experts)");
        }
        return split;
    }

    private static void checkLayoutShapes(List<KeyPattern> sources, List<KeyPattern> targets, boolean shapes) {
        boolean sameKeys = sources.equals(targets);
        if (sameKeys && !shapes) {
            throw new IllegalArgumentException("its sources are its targets, so a key cannot tell which layout its "
                    + "tensor is in; give v5_shape, the tensor's shape in the v5 layout in config.json's terms");
        }
        if (!sameKeys && shapes) {
            throw new IllegalArgumentException("v5_shape is for a converter whose keys are the same in both layouts "
                    + "(sources equal to targets); this one's keys tell the layout");
        }
        if (shapes && (sources.size() != 1 || sources.getFirst().indexed())) {
            throw new IllegalArgumentException("v5_shape gives one tensor's shape, so its converter takes one source "
                    + "without '*' to one target");
        }
    }

    private static int dimOf(Operation op) {
        return switch (op) {
            case Operation.Stack s -> s.dim();
            case Operation.Unstack u -> u.dim();
            case Operation.Concat c -> c.dim();
            case Operation.Chunk c -> c.dim();
            case Operation.Transpose t -> Math.min(t.dim0(), t.dim1());
            case Operation.Interleave i -> i.dim();
            case Operation.SplitExperts s -> 0;
            case Operation.JoinExperts j -> 0;
        };
    }
}
