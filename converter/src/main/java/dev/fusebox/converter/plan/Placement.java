package dev.fusebox.converter.plan;

import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Where part of one source tensor lands in a target: a box of the target (a start and an extent per target axis),
 * filled from the source element by element. Each target axis walks one source axis with a step (or none, for an
 * axis of extent 1 that a stack added); {@code sourceStart} is the source index of the box's first element. Stack,
 * concat, chunk and unstack give boxes that map onto whole source rows; transpose and interleave permute or stride
 * them. For Mixtral, expert e's w1 lands in {@code gate_up_proj[e, 0:I, :]} — one contiguous byte range.
 */
public final class Placement {

    private final TensorSpec source;
    private final long[] targetStart;
    private final long[] extent;
    private final int[] sourceAxis;
    private final long[] step;
    private final long[] sourceStart;

    Placement(TensorSpec source, long[] targetStart, long[] extent, int[] sourceAxis, long[] step,
              long[] sourceStart) {
        this.source = source;
        this.targetStart = targetStart;
        this.extent = extent;
        this.sourceAxis = sourceAxis;
        this.step = step;
        this.sourceStart = sourceStart;
    }

    /** The whole of {@code source}, placed as itself. */
    static Placement whole(TensorSpec source) {
        int r = source.shape().rank();
        int[] axes = new int[r];
        long[] steps = new long[r];
        for (int i = 0; i < r; i++) {
            axes[i] = i;
            steps[i] = 1;
        }
        return new Placement(source, new long[r], source.shape().dims(), axes, steps, new long[r]);
    }

    public TensorSpec source() {
        return source;
    }

    /** The rank of the target this placement is part of. */
    public int rank() {
        return extent.length;
    }

    /** The first target index of the box along {@code axis}. */
    public long targetStart(int axis) {
        return targetStart[axis];
    }

    /** How many target indices the box spans along {@code axis}. */
    public long extent(int axis) {
        return extent[axis];
    }

    /** The source axis target axis {@code axis} walks, or -1 when it is a new axis of extent 1. */
    public int sourceAxis(int axis) {
        return sourceAxis[axis];
    }

    /** How far along its source axis one step of target axis {@code axis} goes. */
    public long step(int axis) {
        return step[axis];
    }

    /** The source index of the box's first element along source axis {@code axis}. */
    public long sourceStart(int axis) {
        return sourceStart[axis];
    }

    public long elementCount() {
        long n = 1;
        for (long e : extent) {
            n = Math.multiplyExact(n, e);
        }
        return n;
    }

    public long byteSize() {
        return source.dtype().wholeBytes() ? Math.multiplyExact(elementCount(), source.dtype().byteSize())
                : wholeSubByteSource().byteSize();
    }

    /**
     * The source of a placement of sub-byte elements (F4, F6_*), which is only ever the whole source put as it is:
     * elements that share a byte cannot be moved one by one, so the planner copies such tensors whole and refuses
     * every operation on them.
     */
    private TensorSpec wholeSubByteSource() {
        for (int t = 0; t < extent.length; t++) {
            if (targetStart[t] != 0 || sourceStart[t] != 0 || sourceAxis[t] != t || step[t] != 1
                    || extent[t] != source.shape().dim(t)) {
                throw new IllegalStateException(source.key() + " is " + source.dtype() + ", whose elements are "
                        + "smaller than a byte: it can only be copied whole");
            }
        }
        return source;
    }

    /** Whether every source element is placed. */
    public boolean coversWholeSource() {
        return elementCount() == source.shape().elementCount();
    }

    /** The box in the target as Python writes a slice: {@code [1, 0:96, :]}. */
    public String targetSlice(Shape targetShape) {
        List<String> parts = new ArrayList<>();
        for (int t = 0; t < extent.length; t++) {
            long s = targetStart[t];
            if (extent[t] == 1 && targetShape.dim(t) > 1) {
                parts.add(Long.toString(s));
            } else if (s == 0 && extent[t] == targetShape.dim(t)) {
                parts.add(":");
            } else {
                parts.add(s + ":" + (s + extent[t]));
            }
        }
        return "[" + String.join(", ", parts) + "]";
    }

    /** The part of the source it takes, as a Python slice: {@code [:, :]}, {@code [1, 0:96, :]}, {@code [0, 1::2]}. */
    public String sourceSlice() {
        Shape shape = source.shape();
        List<String> parts = new ArrayList<>();
        for (int a = 0; a < shape.rank(); a++) {
            long count = 1;
            long stride = 1;
            for (int t = 0; t < extent.length; t++) {
                if (sourceAxis[t] == a && extent[t] > 1) {
                    count = Math.multiplyExact(count, extent[t]);
                    stride = step[t];
                }
            }
            long s = sourceStart[a];
            long dim = shape.dim(a);
            if (count == dim && s == 0) {
                parts.add(":");
            } else if (count == 1 && dim > 1) {
                parts.add(Long.toString(s));
            } else if (stride == 1) {
                parts.add(s + ":" + (s + count));
            } else {
                long stop = s + (count - 1) * stride + 1;
                boolean toEnd = s + count * stride >= dim;
                parts.add((s == 0 ? "" : Long.toString(s)) + ":" + (toEnd ? "" : Long.toString(stop)) + ":" + stride);
            }
        }
        return "[" + String.join(", ", parts) + "]";
    }

    /** Element strides of a row-major tensor of this shape. */
    static long[] strides(Shape shape) {
        long[] s = new long[shape.rank()];
        long acc = 1;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            s[i] = acc;
            acc = Math.multiplyExact(acc, shape.dim(i));
        }
        return s;
    }

    /**
     * The element offset of the box's first element in a row-major target with {@code targetStrides} (its
     * {@link #strides}); 0 for an empty box. Orders placements as {@link Runs#targetBase()} does, without the runs.
     */
    long targetOffset(long[] targetStrides) {
        if (elementCount() == 0) {
            return 0;
        }
        long offset = 0;
        for (int t = 0; t < extent.length; t++) {
            offset = Math.addExact(offset, Math.multiplyExact(targetStart[t], targetStrides[t]));
        }
        return offset;
    }

    /** How the placement's bytes are laid out as runs: contiguous in both the target and the source. */
    public Runs runs(Shape targetShape) {
        if (elementCount() == 0) {
            return new Runs(0, 0, 0, new long[0], new long[0], new long[0]);
        }
        if (!source.dtype().wholeBytes()) {
            long bytes = wholeSubByteSource().byteSize();
            return new Runs(0, 0, bytes, new long[0], new long[0], new long[0]);
        }
        long es = source.dtype().byteSize();
        long[] ts = strides(targetShape);
        long[] ss = strides(source.shape());
        long targetBase = 0;
        for (int t = 0; t < extent.length; t++) {
            targetBase = Math.addExact(targetBase, Math.multiplyExact(targetStart[t], ts[t]));
        }
        long sourceBase = 0;
        for (int a = 0; a < sourceStart.length; a++) {
            sourceBase = Math.addExact(sourceBase, Math.multiplyExact(sourceStart[a], ss[a]));
        }
        List<long[]> dims = new ArrayList<>();
        for (int t = 0; t < extent.length; t++) {
            if (extent[t] > 1) {
                dims.add(new long[] {extent[t], ts[t], Math.multiplyExact(step[t], ss[sourceAxis[t]])});
            }
        }
        for (int i = dims.size() - 1; i > 0; i--) {
            long[] inner = dims.get(i);
            long[] outer = dims.get(i - 1);
            if (outer[1] == inner[0] * inner[1] && outer[2] == inner[0] * inner[2]) {
                dims.set(i - 1, new long[] {Math.multiplyExact(outer[0], inner[0]), inner[1], inner[2]});
                dims.remove(i);
            }
        }
        long runElements = 1;
        if (!dims.isEmpty() && dims.getLast()[1] == 1 && dims.getLast()[2] == 1) {
            runElements = dims.removeLast()[0];
        }
        long[] counts = new long[dims.size()];
        long[] targetStrides = new long[dims.size()];
        long[] sourceStrides = new long[dims.size()];
        for (int i = 0; i < dims.size(); i++) {
            counts[i] = dims.get(i)[0];
            targetStrides[i] = Math.multiplyExact(dims.get(i)[1], es);
            sourceStrides[i] = Math.multiplyExact(dims.get(i)[2], es);
        }
        return new Runs(Math.multiplyExact(targetBase, es), Math.multiplyExact(sourceBase, es),
                Math.multiplyExact(runElements, es), counts, targetStrides, sourceStrides);
    }

    /** The target bytes it fills, relative to the target's first byte, when they are one contiguous range. */
    public Optional<ByteRange> targetBytes(Shape targetShape) {
        Runs r = runs(targetShape);
        return r.count() == 1 ? Optional.of(new ByteRange(r.targetBase(), r.targetBase() + r.runBytes()))
                : Optional.empty();
    }

    /** The source bytes it takes, relative to the source's first byte, when they are one contiguous range. */
    public Optional<ByteRange> sourceBytes(Shape targetShape) {
        Runs r = runs(targetShape);
        return r.count() == 1 ? Optional.of(new ByteRange(r.sourceBase(), r.sourceBase() + r.runBytes()))
                : Optional.empty();
    }

    /**
     * The placement as runs of bytes: {@code count()} runs of {@code runBytes} each, the n-th at target offset
     * {@code targetBase + Σ i_k·targetStrides[k]} and source offset {@code sourceBase + Σ i_k·sourceStrides[k]},
     * with the indices i counted odometer-wise over {@code counts}, so targets come in increasing order.
     */
    public record Runs(long targetBase, long sourceBase, long runBytes, long[] counts, long[] targetStrides,
                       long[] sourceStrides) {

        public long count() {
            long n = 1;
            for (long c : counts) {
                n = Math.multiplyExact(n, c);
            }
            return n;
        }
    }

    /** A byte range [start, end). */
    public record ByteRange(long start, long end) {
        public long length() {
            return end - start;
        }

        @Override
        public String toString() {
            return start + "–" + end;
        }
    }

    // ----- the algebra Assembly builds placements with -----

    Placement withNewAxis(int dim, long position) {
        return new Placement(source, insert(targetStart, dim, position), insert(extent, dim, 1),
                insert(sourceAxis, dim, -1), insert(step, dim, 0), sourceStart.clone());
    }

    Placement shifted(int dim, long delta) {
        long[] start = targetStart.clone();
        start[dim] = Math.addExact(start[dim], delta);
        return new Placement(source, start, extent.clone(), sourceAxis.clone(), step.clone(), sourceStart.clone());
    }

    /** The part inside [lo, hi) along target axis {@code dim}, or null when there is none. */
    Placement clipped(int dim, long lo, long hi) {
        long s = Math.max(targetStart[dim], lo);
        long e = Math.min(targetStart[dim] + extent[dim], hi);
        if (s >= e) {
            return null;
        }
        long[] srcStart = sourceStart.clone();
        if (sourceAxis[dim] >= 0) {
            int a = sourceAxis[dim];
            srcStart[a] = Math.addExact(srcStart[a], Math.multiplyExact(s - targetStart[dim], step[dim]));
        }
        long[] start = targetStart.clone();
        long[] ext = extent.clone();
        start[dim] = s;
        ext[dim] = e - s;
        return new Placement(source, start, ext, sourceAxis.clone(), step.clone(), srcStart);
    }

    /** Without target axis {@code dim}, which has extent 1. */
    Placement withoutAxis(int dim) {
        return new Placement(source, remove(targetStart, dim), remove(extent, dim), remove(sourceAxis, dim),
                remove(step, dim), sourceStart.clone());
    }

    Placement swapped(int d0, int d1) {
        long[] start = targetStart.clone();
        long[] ext = extent.clone();
        int[] axes = sourceAxis.clone();
        long[] steps = step.clone();
        swap(start, d0, d1);
        swap(ext, d0, d1);
        swap(steps, d0, d1);
        int t = axes[d0];
        axes[d0] = axes[d1];
        axes[d1] = t;
        return new Placement(source, start, ext, axes, steps, sourceStart.clone());
    }

    /** Target axis {@code dim} read as [n/b, b]: one or more placements, each a box in the split shape. */
    List<Placement> split(int dim, long b) {
        long s = targetStart[dim];
        long e = s + extent[dim];
        List<Placement> out = new ArrayList<>();
        if (s % b == 0 && e % b == 0 && extent[dim] > 1) {
            long[] start = insert(targetStart, dim + 1, 0);
            start[dim] = s / b;
            long[] ext = insert(extent, dim + 1, b);
            ext[dim] = (e - s) / b;
            int[] axes = insert(sourceAxis, dim + 1, sourceAxis[dim]);
            long[] steps = insert(step, dim + 1, step[dim]);
            steps[dim] = Math.multiplyExact(step[dim], b);
            out.add(new Placement(source, start, ext, axes, steps, sourceStart.clone()));
            return out;
        }
        for (long o = s / b; o <= (e - 1) / b; o++) {
            Placement p = clipped(dim, o * b, (o + 1) * b);
            long[] start = insert(p.targetStart, dim + 1, p.targetStart[dim] - o * b);
            start[dim] = o;
            long[] ext = insert(p.extent, dim + 1, p.extent[dim]);
            ext[dim] = 1;
            int[] axes = insert(p.sourceAxis, dim + 1, p.sourceAxis[dim]);
            axes[dim] = -1;
            long[] steps = insert(p.step, dim + 1, p.step[dim]);
            steps[dim] = 0;
            out.add(new Placement(source, start, ext, axes, steps, p.sourceStart.clone()));
        }
        return out;
    }

    /** Target axes {@code dim} and {@code dim + 1} (the inner of length b) read as one: one or more placements. */
    List<Placement> merged(int dim, long b) {
        List<Placement> out = new ArrayList<>();
        if (extent[dim] == 1) {
            long[] start = remove(targetStart, dim + 1);
            start[dim] = Math.addExact(Math.multiplyExact(targetStart[dim], b), targetStart[dim + 1]);
            long[] ext = remove(extent, dim + 1);
            ext[dim] = extent[dim + 1];
            int[] axes = remove(sourceAxis, dim);
            long[] steps = remove(step, dim);
            out.add(new Placement(source, start, ext, axes, steps, sourceStart.clone()));
            return out;
        }
        boolean fullInner = targetStart[dim + 1] == 0 && extent[dim + 1] == b;
        boolean sameAxis = sourceAxis[dim] == sourceAxis[dim + 1] && sourceAxis[dim] >= 0;
        if (fullInner && (b == 1 || (sameAxis && step[dim] == Math.multiplyExact(b, step[dim + 1])))) {
            long[] start = remove(targetStart, dim + 1);
            start[dim] = Math.multiplyExact(targetStart[dim], b);
            long[] ext = remove(extent, dim + 1);
            ext[dim] = Math.multiplyExact(extent[dim], b);
            int[] axes = remove(sourceAxis, dim + 1);
            long[] steps = remove(step, dim + 1);
            if (b > 1) {
                axes[dim] = sourceAxis[dim + 1];
                steps[dim] = step[dim + 1];
            }
            out.add(new Placement(source, start, ext, axes, steps, sourceStart.clone()));
            return out;
        }
        for (long o = targetStart[dim]; o < targetStart[dim] + extent[dim]; o++) {
            out.addAll(clipped(dim, o, o + 1).merged(dim, b));
        }
        return out;
    }

    private static long[] insert(long[] a, int at, long v) {
        long[] out = new long[a.length + 1];
        System.arraycopy(a, 0, out, 0, at);
        out[at] = v;
        System.arraycopy(a, at, out, at + 1, a.length - at);
        return out;
    }

    private static int[] insert(int[] a, int at, int v) {
        int[] out = new int[a.length + 1];
        System.arraycopy(a, 0, out, 0, at);
        out[at] = v;
        System.arraycopy(a, at, out, at + 1, a.length - at);
        return out;
    }

    private static long[] remove(long[] a, int at) {
        long[] out = new long[a.length - 1];
        System.arraycopy(a, 0, out, 0, at);
        System.arraycopy(a, at + 1, out, at, a.length - at - 1);
        return out;
    }

    private static int[] remove(int[] a, int at) {
        int[] out = new int[a.length - 1];
        System.arraycopy(a, 0, out, 0, at);
        System.arraycopy(a, at + 1, out, at, a.length - at - 1);
        return out;
    }

    private static void swap(long[] a, int i, int j) {
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Placement p && source.equals(p.source) && Arrays.equals(targetStart, p.targetStart)
                && Arrays.equals(extent, p.extent) && Arrays.equals(sourceAxis, p.sourceAxis)
                && Arrays.equals(step, p.step) && Arrays.equals(sourceStart, p.sourceStart);
    }

    @Override
    public int hashCode() {
        return source.hashCode() * 31 + Arrays.hashCode(targetStart);
    }

    @Override
    public String toString() {
        return source.key() + sourceSlice() + " → box " + Arrays.toString(targetStart) + "+" + Arrays.toString(extent);
    }
}
