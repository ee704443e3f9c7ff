package dev.fusebox.converter.rules;

import dev.fusebox.converter.FuseboxException;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One step of a converter, as transformers names them, each with its exact inverse. A converter's value is a row
 * of slots (one per source pattern at first); a slot holds one tensor, or a list of tensors indexed by expert when
 * its pattern has a {@code *}.
 */
public sealed interface Operation {

    /** The operation that undoes this one. */
    Operation inverse();

    /** How the operation is written in plans, e.g. {@code stack(dim=0)}. */
    String describe();

    /**
     * Every operation a rule file may name, in the order messages list them, each record's syntax its own (read at
     * the call, not held in a constant, so that no record's initialisation waits on this interface's).
     */
    static List<Syntax> known() {
        return List.of(Stack.SYNTAX, Unstack.SYNTAX, Concat.SYNTAX, Chunk.SYNTAX, Transpose.SYNTAX, Interleave.SYNTAX,
                SplitExperts.SYNTAX, JoinExperts.SYNTAX);
    }

    /** The syntax a rule file names as {@code op}, if any. */
    static Optional<Syntax> named(String name) {
        return known().stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** An operation's fields as a rule file writes them; the reader checks each and says where a bad one is. */
    interface Fields {
        /** The axis in field {@code name}. */
        int dim(String name) throws FuseboxException;

        /** The true or false in field {@code name}, false when it is absent. */
        boolean flag(String name) throws FuseboxException;
    }

    /** Makes an operation from its checked fields. */
    @FunctionalInterface
    interface Factory {
        Operation make(Fields fields) throws FuseboxException;
    }

    /** How a rule file writes one operation: {@code {"op": name, …fields}}. */
    record Syntax(String name, Set<String> fields, Factory factory) {
        public Syntax {
            fields = Set.copyOf(fields);
        }
    }

    /** MergeModulelist: each slot's list of experts becomes one tensor with a new axis {@code dim}. */
    record Stack(int dim) implements Operation {
        static final Syntax SYNTAX = new Syntax("stack", Set.of("dim"), f -> new Stack(f.dim("dim")));

        @Override

        public Operation inverse() {
            return new Unstack(dim);
        }

        @Override

        public String describe() {
            return "stack(dim=" + dim + ")";
        }
    }

    /** SplitModulelist: each slot's tensor becomes a list of experts, one per index along {@code dim}. */
    record Unstack(int dim) implements Operation {
        static final Syntax SYNTAX = new Syntax("unstack", Set.of("dim"), f -> new Unstack(f.dim("dim")));

        @Override

        public Operation inverse() {
            return new Stack(dim);
        }

        @Override

        public String describe() {
            return "unstack(dim=" + dim + ")";
        }
    }

    /** Concatenate: all slots, in order, joined along {@code dim} into one. */
    record Concat(int dim) implements Operation {
        static final Syntax SYNTAX = new Syntax("concat", Set.of("dim"), f -> new Concat(f.dim("dim")));

        @Override

        public Operation inverse() {
            return new Chunk(dim);
        }

        @Override

        public String describe() {
            return "concat(dim=" + dim + ")";
        }
    }

    /** Chunk: the one slot split along {@code dim} into equal parts, one per target. */
    record Chunk(int dim) implements Operation {
        static final Syntax SYNTAX = new Syntax("chunk", Set.of("dim"), f -> new Chunk(f.dim("dim")));

        @Override

        public Operation inverse() {
            return new Concat(dim);
        }

        @Override

        public String describe() {
            return "chunk(dim=" + dim + ")";
        }
    }

    /** Transpose: axes {@code dim0} and {@code dim1} swapped, in every slot. */
    record Transpose(int dim0, int dim1) implements Operation {
        static final Syntax SYNTAX = new Syntax("transpose", Set.of("dim0", "dim1"),
                f -> new Transpose(f.dim("dim0"), f.dim("dim1")));

        @Override

        public Operation inverse() {
            return new Transpose(dim1, dim0);
        }

        @Override

        public String describe() {
            return "transpose(" + dim0 + ", " + dim1 + ")";
        }
    }

    /**
     * ErnieFuseAndSplitTextVisionExperts' split, the first operation of its converter: each slot's list of experts
     * cut by index into one equal, consecutive group per target (of 2E experts and two targets, experts 0 … E-1 go
     * to the first, E … 2E-1, numbered 0 … E-1 again, to the second). The operations after it run on each group on
     * its own and leave one tensor per group.
     */
    record SplitExperts() implements Operation {
        static final Syntax SYNTAX = new Syntax("split_experts", Set.of(), f -> new SplitExperts());

        @Override

        public Operation inverse() {
            return new JoinExperts();
        }

        @Override

        public String describe() {
            return "split_experts";
        }
    }

    /**
     * The way back from {@link SplitExperts}, the last operation of its converter: the operations before it run on
     * each source on its own, and the expert lists they leave are joined in source order, renumbered from 0.
     */
    record JoinExperts() implements Operation {
        static final Syntax SYNTAX = new Syntax("join_experts", Set.of(), f -> new JoinExperts());

        @Override

        public Operation inverse() {
            return new SplitExperts();
        }

        @Override

        public String describe() {
            return "join_experts";
        }
    }

    /**
     * Interleave, as transformers defines it: axis {@code dim} (length n) read as [n/2, 2] and transposed, so rows
     * {@code g0 u0 g1 u1 …} become {@code g0 g1 … u0 u1 …}; with {@code inverse}, read as [2, n/2], the way back.
     */
    record Interleave(int dim, boolean inverted) implements Operation {
        static final Syntax SYNTAX = new Syntax("interleave", Set.of("dim", "inverse"),
                f -> new Interleave(f.dim("dim"), f.flag("inverse")));

        @Override

        public Operation inverse() {
            return new Interleave(dim, !inverted);
        }

        @Override

        public String describe() {
            return "interleave(dim=" + dim + (inverted ? ", inverse" : "") + ")";
        }
    }
}
