package dev.fusebox.viewmodel.detail;

import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorStatistics;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What lies where in a heat map: the boundaries between the parts of a fused tensor (w1 | w3 of an expert, gate |
 * up) and, when the map shows the whole tensor, between its slices (the experts), as rows and columns of the
 * slice shown; and what a cell under the pointer stands for.
 */
public final class HeatMapLayout {

    /** Segments of a whole-tensor view beyond this many are not worth marking (and would take long to list). */
    private static final long MAX_SEGMENTS = 1 << 20;

    /** A boundary between two parts (w1 | w3), or between two slices of the first dimensions (experts). */
    public enum Kind { PART, SLICE }

    /**
     * A line before row or column {@code at} of the slice shown.
     *
     * @param label what begins there: {@code 0.w3}, {@code expert 1}
     */
    public record Mark(long at, Kind kind, String label) {
    }

    /** A part's rectangle in the slice shown: rows [rowStart, rowEnd), columns [colStart, colEnd). */
    private record Segment(long rowStart, long rowEnd, long colStart, long colEnd, String label) {
        boolean contains(long r, long c) {
            return r >= rowStart && r < rowEnd && c >= colStart && c < colEnd;
        }
    }

    private final TensorStatistics.HeatMap map;
    private final long sliceRows;
    private final String sliceName;
    private final List<Segment> segments;
    private final List<Mark> rows;
    private final List<Mark> cols;

    private HeatMapLayout(TensorStatistics.HeatMap map, long sliceRows, String sliceName, List<Segment> segments,
                          List<Mark> slices) {
        this.map = map;
        this.sliceRows = sliceRows;
        this.sliceName = sliceName;
        this.segments = List.copyOf(segments);
        TreeMap<Long, Mark> r = new TreeMap<>();
        TreeMap<Long, Mark> c = new TreeMap<>();
        slices.forEach(m -> r.put(m.at(), m));
        for (Segment s : segments) {
            if (s.rowStart() > 0 && s.rowStart() < map.sourceRows()) {
                r.putIfAbsent(s.rowStart(), new Mark(s.rowStart(), Kind.PART, s.label()));
            }
            if (s.colStart() > 0 && s.colStart() < map.sourceCols()) {
                c.putIfAbsent(s.colStart(), new Mark(s.colStart(), Kind.PART, s.label()));
            }
        }
        this.rows = List.copyOf(r.values());
        this.cols = List.copyOf(c.values());
    }

    /**
     * The layout of {@code map}, a heat map of a tensor of {@code shape} whose parts are {@code parts}:
     * the slice at {@code leading}, or the whole tensor (its slices stacked as rows) when {@code whole}.
     */
    public static HeatMapLayout of(TensorStatistics.HeatMap map, Shape shape, List<TensorPart> parts,
                                   long[] leading, boolean whole) {
        int rank = shape.rank();
        String sliceName = rank == 3 && !parts.isEmpty() ? "expert" : "slice";
        List<Segment> segments = new ArrayList<>();
        if (rank == 1) {
            parts.forEach(p -> segments.add(new Segment(0, 1, p.start(0), p.start(0) + p.extent(0), p.label())));
            return new HeatMapLayout(map, 1, sliceName, segments, List.of());
        }
        if (rank < 3) {
            parts.forEach(p -> segments.add(segment(p, 0, rank)));
            return new HeatMapLayout(map, rank == 2 ? shape.dim(0) : 1, sliceName, segments, List.of());
        }
        long sliceRows = shape.dim(rank - 2);
        if (!whole) {
            for (TensorPart p : parts) {
                boolean in = true;
                for (int a = 0; a < rank - 2; a++) {
                    in &= p.contains(a, a < leading.length ? leading[a] : 0);
                }
                if (in) {
                    segments.add(segment(p, 0, rank));
                }
            }
            return new HeatMapLayout(map, sliceRows, sliceName, segments, List.of());
        }
        long count = 0;
        for (TensorPart p : parts) {
            count = Math.addExact(count, leadingCount(p, rank));
        }
        if (count <= MAX_SEGMENTS) {
            for (TensorPart p : parts) {
                forEachLeading(p, shape, flat -> segments.add(segment(p, Math.multiplyExact(flat, sliceRows), rank)));
            }
        }
        long slices = sliceRows == 0 ? 0 : map.sourceRows() / sliceRows;
        List<Mark> bounds = new ArrayList<>();
        if (slices <= MAX_SEGMENTS) {
            for (long s = 1; s < slices; s++) {
                bounds.add(new Mark(s * sliceRows, Kind.SLICE, sliceName + " " + s));
            }
        }
        segments.sort(Comparator.comparingLong(Segment::rowStart));
        return new HeatMapLayout(map, sliceRows, sliceName, segments, bounds);
    }

    private static Segment segment(TensorPart p, long rowOffset, int rank) {
        int r = rank - 2;
        int c = rank - 1;
        return new Segment(rowOffset + p.start(r), rowOffset + p.start(r) + p.extent(r), p.start(c),
                p.start(c) + p.extent(c), p.label());
    }

    private static long leadingCount(TensorPart p, int rank) {
        long n = 1;
        for (int a = 0; a < rank - 2; a++) {
            n = Math.multiplyExact(n, p.extent(a));
        }
        return n;
    }

    /** Calls {@code action} with the row-major index, over the leading dimensions, of each slice the part meets. */
    private static void forEachLeading(TensorPart p, Shape shape, java.util.function.LongConsumer action) {
        int lead = shape.rank() - 2;
        long[] index = new long[lead];
        for (int a = 0; a < lead; a++) {
            index[a] = p.start(a);
        }
        while (true) {
            long flat = 0;
            for (int a = 0; a < lead; a++) {
                flat = Math.addExact(Math.multiplyExact(flat, shape.dim(a)), index[a]);
            }
            action.accept(flat);
            int a = lead - 1;
            while (a >= 0 && ++index[a] == p.start(a) + p.extent(a)) {
                index[a] = p.start(a);
                a--;
            }
            if (a < 0) {
                return;
            }
        }
    }

    /** Boundaries between rows, in order. */
    public List<Mark> rowMarks() {
        return rows;
    }

    /** Boundaries between columns, in order. */
    public List<Mark> colMarks() {
        return cols;
    }

    public TensorStatistics.HeatMap heatMap() {
        return map;
    }

    /** The part that row {@code r} and column {@code c} of the slice shown belong to. */
    public Optional<String> partAt(long r, long c) {
        for (Segment s : segments) {
            if (s.contains(r, c)) {
                return Optional.of(s.label());
            }
        }
        return Optional.empty();
    }

    /**
     * What cell ({@code row}, {@code col}) of the map stands for: the rows and columns of the slice it averages
     * (within its expert when the map shows the whole tensor), the part they belong to and the cell's value.
     */
    public String describe(int row, int col) {
        if (row < 0 || col < 0 || row >= map.rows() || col >= map.cols()) {
            return "";
        }
        long r0 = first(row, map.sourceRows(), map.rows());
        long r1 = first(row + 1, map.sourceRows(), map.rows()) - 1;
        long c0 = first(col, map.sourceCols(), map.cols());
        long c1 = first(col + 1, map.sourceCols(), map.cols()) - 1;
        List<String> out = new ArrayList<>();
        boolean stacked = sliceRows > 0 && map.sourceRows() > sliceRows;
        if (stacked) {
            long s0 = r0 / sliceRows;
            long s1 = r1 / sliceRows;
            out.add(s0 == s1 ? sliceName + " " + s0 : sliceName + "s " + s0 + "–" + s1);
            out.add(range("row", s0 == s1 ? r0 - s0 * sliceRows : r0, s0 == s1 ? r1 - s0 * sliceRows : r1));
        } else {
            out.add(range("row", r0, r1));
        }
        out.add(range("col", c0, c1));
        partAt(r0, c0).ifPresent(out::add);
        float v = map.value(row, col);
        boolean single = r0 == r1 && c0 == c1;
        out.add(Float.isNaN(v) ? "no finite value" : (single ? "value " : "mean ") + TensorDetailViewModel.number(v));
        return String.join(" · ", out);
    }

    /** The first of {@code source} indices that cell {@code cell} of {@code cells} covers (as the map averages). */
    private static long first(long cell, long source, int cells) {
        return Math.ceilDiv(Math.multiplyExact(cell, source), cells);
    }

    private static String range(String what, long a, long b) {
        return a == b ? what + " " + a : what + "s " + a + "–" + b;
    }
}
