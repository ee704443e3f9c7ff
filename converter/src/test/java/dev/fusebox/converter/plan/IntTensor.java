package dev.fusebox.converter.plan;

import java.util.Arrays;
import java.util.List;

/**
 * A small row-major tensor of ints with the operations of a rule file, written element by element from their
 * definitions (torch.stack, torch.cat, torch.chunk, transpose): the oracle the placement properties compare the
 * engine's bytes against. Nothing here shares code with the planner.
 */
record IntTensor(int[] shape, int[] values) {

    IntTensor {
        if (Arrays.stream(shape).reduce(1, Math::multiplyExact) != values.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold " + values.length);
        }
    }

    /** A tensor whose every element is a distinct number, starting at {@code first}. */
    static IntTensor numbered(int first, int... shape) {
        int[] v = new int[Arrays.stream(shape).reduce(1, Math::multiplyExact)];
        for (int i = 0; i < v.length; i++) {
            v[i] = first + i;
        }
        return new IntTensor(shape.clone(), v);
    }

    int get(int... index) {
        return values[offset(shape, index)];
    }

    /** torch.stack(parts, dim): a new axis {@code dim} indexing the parts. */
    static IntTensor stack(List<IntTensor> parts, int dim) {
        int[] part = parts.getFirst().shape;
        int[] shape = insert(part, dim, parts.size());
        int[] out = new int[Math.multiplyExact(parts.size(), parts.getFirst().values.length)];
        forEachIndex(shape, (flat, index) -> {
            int[] inner = remove(index, dim);
            out[flat] = parts.get(index[dim]).get(inner);
        });
        return new IntTensor(shape, out);
    }

    /** torch.cat(parts, dim): the parts one after another along {@code dim}. */
    static IntTensor concat(List<IntTensor> parts, int dim) {
        int[] shape = parts.getFirst().shape.clone();
        shape[dim] = parts.stream().mapToInt(p -> p.shape[dim]).sum();
        int[] out = new int[Arrays.stream(shape).reduce(1, Math::multiplyExact)];
        forEachIndex(shape, (flat, index) -> {
            int[] at = index.clone();
            int p = 0;
            while (at[dim] >= parts.get(p).shape[dim]) {
                at[dim] -= parts.get(p).shape[dim];
                p++;
            }
            out[flat] = parts.get(p).get(at);
        });
        return new IntTensor(shape, out);
    }

    /** x.transpose(a, b). */
    IntTensor transpose(int a, int b) {
        int[] to = shape.clone();
        to[a] = shape[b];
        to[b] = shape[a];
        int[] out = new int[values.length];
        forEachIndex(to, (flat, index) -> {
            int[] from = index.clone();
            from[a] = index[b];
            from[b] = index[a];
            out[flat] = get(from);
        });
        return new IntTensor(to, out);
    }

    /** torch.chunk(x, n, dim)[k] for an axis that {@code n} divides. */
    IntTensor chunk(int n, int dim, int k) {
        int[] to = shape.clone();
        to[dim] = shape[dim] / n;
        int[] out = new int[values.length / n];
        forEachIndex(to, (flat, index) -> {
            int[] from = index.clone();
            from[dim] += k * to[dim];
            out[flat] = get(from);
        });
        return new IntTensor(to, out);
    }

    private interface IndexVisitor {
        void visit(int flat, int[] index);
    }

    private static void forEachIndex(int[] shape, IndexVisitor visitor) {
        int n = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        int[] index = new int[shape.length];
        for (int flat = 0; flat < n; flat++) {
            visitor.visit(flat, index);
            for (int axis = shape.length - 1; axis >= 0 && ++index[axis] == shape[axis]; axis--) {
                index[axis] = 0;
            }
        }
    }

    private static int offset(int[] shape, int[] index) {
        int flat = 0;
        for (int axis = 0; axis < shape.length; axis++) {
            if (index[axis] < 0 || index[axis] >= shape[axis]) {
                throw new IndexOutOfBoundsException(Arrays.toString(index) + " in " + Arrays.toString(shape));
            }
            flat = flat * shape[axis] + index[axis];
        }
        return flat;
    }

    private static int[] insert(int[] a, int at, int value) {
        int[] out = new int[a.length + 1];
        System.arraycopy(a, 0, out, 0, at);
        out[at] = value;
        System.arraycopy(a, at, out, at + 1, a.length - at);
        return out;
    }

    private static int[] remove(int[] a, int at) {
        int[] out = new int[a.length - 1];
        System.arraycopy(a, 0, out, 0, at);
        System.arraycopy(a, at + 1, out, at, a.length - at - 1);
        return out;
    }
}
