package dev.fusebox.converter.plan;

import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * A tensor as the pieces of source tensors it is made of: its shape and the placements that tile it. The
 * operations of a rule act on assemblies without touching a byte — stacking, concatenating, chunking, transposing
 * or interleaving only moves boxes — so a plan knows, before anything is written, where every source byte goes.
 * Operations that cannot apply to the shapes at hand throw {@link IllegalArgumentException} with the reason.
 */
public record Assembly(Shape shape, List<Placement> placements) {

    public Assembly {
        placements = List.copyOf(placements);
    }

    /** A source tensor as it is. */
    public static Assembly of(TensorSpec source) {
        return new Assembly(source.shape(), List.of(Placement.whole(source)));
    }

    /** {@code parts}, all of one shape, stacked along a new axis {@code dim}. */
    public static Assembly stack(List<Assembly> parts, int dim) {
        Shape first = parts.getFirst().shape;
        if (dim > first.rank()) {
            throw new IllegalArgumentException("stack(dim=" + dim + ") needs tensors of rank " + dim
                    + " or more, not " + first);
        }
        List<Placement> out = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            Assembly p = parts.get(i);
            if (!p.shape.equals(first)) {
                throw new IllegalArgumentException("stack needs equal shapes, but they are " + first + " and " + p.shape);
            }
            for (Placement pl : p.placements) {
                out.add(pl.withNewAxis(dim, i));
            }
        }
        long[] dims = new long[first.rank() + 1];
        for (int a = 0, b = 0; a < dims.length; a++) {
            dims[a] = a == dim ? parts.size() : first.dim(b++);
        }
        return new Assembly(Shape.of(dims), out);
    }

    /** {@code parts} joined along axis {@code dim}; the other axes must agree. */
    public static Assembly concat(List<Assembly> parts, int dim) {
        Shape first = parts.getFirst().shape;
        checkAxis("concat", dim, first);
        List<Placement> out = new ArrayList<>();
        long offset = 0;
        for (Assembly p : parts) {
            if (p.shape.rank() != first.rank()) {
                throw new IllegalArgumentException("concat needs equal ranks, but the shapes are " + first + " and "
                        + p.shape);
            }
            for (int a = 0; a < first.rank(); a++) {
                if (a != dim && p.shape.dim(a) != first.dim(a)) {
                    throw new IllegalArgumentException("concat(dim=" + dim + ") needs equal sizes on the other axes, "
                            + "but the shapes are " + first + " and " + p.shape);
                }
            }
            for (Placement pl : p.placements) {
                out.add(pl.shifted(dim, offset));
            }
            offset = Math.addExact(offset, p.shape.dim(dim));
        }
        return new Assembly(first.withDim(dim, offset), out);
    }

    /** This tensor split along {@code dim} into {@code parts} equal pieces. */
    public List<Assembly> chunk(int dim, int parts) {
        checkAxis("chunk", dim, shape);
        long n = shape.dim(dim);
        if (n % parts != 0) {
            throw new IllegalArgumentException("chunk(dim=" + dim + ") into " + parts + " equal parts needs a size "
                    + "divisible by " + parts + ", but the shape is " + shape);
        }
        long size = n / parts;
        List<Assembly> out = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            out.add(slice(dim, i * size, size));
        }
        return out;
    }

    /** This tensor as the list of its slices along {@code dim}, that axis dropped. */
    public List<Assembly> unstack(int dim) {
        checkAxis("unstack", dim, shape);
        List<Assembly> out = new ArrayList<>();
        long[] rest = new long[shape.rank() - 1];
        for (int a = 0, b = 0; a < shape.rank(); a++) {
            if (a != dim) {
                rest[b++] = shape.dim(a);
            }
        }
        for (long i = 0; i < shape.dim(dim); i++) {
            Assembly one = slice(dim, i, 1);
            out.add(new Assembly(Shape.of(rest), one.placements.stream().map(p -> p.withoutAxis(dim)).toList()));
        }
        return out;
    }

    /** Axes {@code dim0} and {@code dim1} swapped. */
    public Assembly transpose(int dim0, int dim1) {
        checkAxis("transpose", dim0, shape);
        checkAxis("transpose", dim1, shape);
        long[] dims = shape.dims();
        long t = dims[dim0];
        dims[dim0] = dims[dim1];
        dims[dim1] = t;
        return new Assembly(Shape.of(dims), placements.stream().map(p -> p.swapped(dim0, dim1)).toList());
    }

    /** transformers' Interleave: axis {@code dim} read as [n/2, 2] ([2, n/2] when inverted) and transposed. */
    public Assembly interleave(int dim, boolean inverted) {
        checkAxis("interleave", dim, shape);
        long n = shape.dim(dim);
        if (n % 2 != 0) {
            throw new IllegalArgumentException("interleave(dim=" + dim + ") needs an even size, but the shape is "
                    + shape);
        }
        long outer = inverted ? 2 : n / 2;
        long inner = n / outer;
        List<Placement> split = new ArrayList<>();
        for (Placement p : placements) {
            split.addAll(p.split(dim, inner));
        }
        List<Placement> out = new ArrayList<>();
        for (Placement p : split) {
            out.addAll(p.swapped(dim, dim + 1).merged(dim, outer));
        }
        return new Assembly(shape, out);
    }

    /** The part [start, start + count) along {@code dim}, the axis kept. */
    public Assembly slice(int dim, long start, long count) {
        List<Placement> out = new ArrayList<>();
        for (Placement p : placements) {
            Placement c = p.clipped(dim, start, start + count);
            if (c != null) {
                out.add(c.shifted(dim, -start));
            }
        }
        return new Assembly(shape.withDim(dim, count), out);
    }

    private static void checkAxis(String op, int dim, Shape shape) {
        if (dim >= shape.rank()) {
            throw new IllegalArgumentException(op + " on axis " + dim + " needs a tensor of rank " + (dim + 1)
                    + " or more, not " + shape);
        }
    }
}
