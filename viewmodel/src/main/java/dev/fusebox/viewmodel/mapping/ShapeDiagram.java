package dev.fusebox.viewmodel.mapping;

import dev.fusebox.converter.lora.BlockMatrix;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.Placement;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How the parts of a target tensor come from its sources, for the shape diagram: each block is the box of the
 * target that one source fills, in target indices, with the role of its source (w1, w3, w2, ...) for its colour.
 * A target computed from blocks of its sources (an adapter's fused LoRA factor) shows each block where it lands,
 * a column at a time where its columns are spread (B's rank-major columns); other computed targets are one block
 * of role "computed".
 *
 * @param roles the role names, indexed by {@link Block#role()}; the same order for every target of a plan, so a
 *              role keeps its colour from diagram to diagram
 */
public record ShapeDiagram(String targetKey, Shape shape, List<Block> blocks, List<String> roles, String note) {

    /** Most blocks drawn column by column; past it a spread block is drawn as the box around its columns. */
    private static final int MOST_BLOCKS = 4096;

    /**
     * The part of the target one source fills.
     *
     * @param label  the source's key, shortened to what tells it apart ("experts.1.w1")
     * @param start  the first target index along each axis
     * @param extent how many indices along each axis
     */
    public record Block(String sourceKey, String label, int role, long[] start, long[] extent) {

        public Block {
            start = start.clone();
            extent = extent.clone();
        }

        @Override
        public long[] start() {
            return start.clone();
        }

        @Override
        public long[] extent() {
            return extent.clone();
        }

        public long start(int axis) {
            return start[axis];
        }

        public long extent(int axis) {
            return extent[axis];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Block b && sourceKey.equals(b.sourceKey) && role == b.role
                    && Arrays.equals(start, b.start) && Arrays.equals(extent, b.extent);
        }

        @Override
        public int hashCode() {
            return sourceKey.hashCode() * 31 + Arrays.hashCode(start);
        }

        @Override
        public String toString() {
            return label + " " + Arrays.toString(start) + "+" + Arrays.toString(extent);
        }
    }

    /** The diagram of {@code target}; {@code roles} is the plan's role order, extended with any new role. */
    public static ShapeDiagram of(PlannedTarget target, List<String> roles) {
        List<String> order = new ArrayList<>(roles);
        List<Block> blocks = new ArrayList<>();
        int rank = target.shape().rank();
        String note = "";
        switch (target.recipe()) {
            case CopyRecipe copy -> {
                for (Placement p : copy.placements()) {
                    long[] start = new long[rank];
                    long[] extent = new long[rank];
                    for (int a = 0; a < rank; a++) {
                        start[a] = p.targetStart(a);
                        extent[a] = p.extent(a);
                    }
                    String role = role(p.source().key());
                    if (!order.contains(role)) {
                        order.add(role);
                    }
                    blocks.add(new Block(p.source().key(), label(p.source().key()), order.indexOf(role), start, extent));
                }
                note = String.join(" · ", target.operations());
            }
            case ComputedRecipe c when c.computation() instanceof BlockMatrix m && rank == 2 -> {
                boolean spread = m.blocks().stream().mapToLong(b -> b.colStep() == 1 ? 1 : b.source().cols())
                        .sum() <= MOST_BLOCKS;
                for (BlockMatrix.Block b : m.blocks()) {
                    String key = b.source().tensor().key();
                    String role = role(key);
                    if (!order.contains(role)) {
                        order.add(role);
                    }
                    long rows = b.source().rows();
                    long cols = b.source().cols();
                    if (b.colStep() == 1 || cols == 0 || !spread) {
                        long width = cols == 0 ? 0 : (cols - 1) * b.colStep() + 1;
                        blocks.add(new Block(key, label(key), order.indexOf(role), new long[] {b.row0(), b.col0()},
                                new long[] {rows, width}));
                        continue;
                    }
                    for (long j = 0; j < cols; j++) {
                        blocks.add(new Block(key, label(key), order.indexOf(role),
                                new long[] {b.row0(), b.col0() + j * b.colStep()}, new long[] {rows, 1}));
                    }
                }
                note = c.description();
            }
            case ComputedRecipe c -> {
                if (!order.contains("computed")) {
                    order.add("computed");
                }
                long[] start = new long[rank];
                blocks.add(new Block(target.key(), "computed", order.indexOf("computed"), start, target.shape().dims()));
                note = "computed: " + c.description();
            }
        }
        return new ShapeDiagram(target.key(), target.shape(), blocks, order, note);
    }

    /**
     * What a source is within its module list: the path after its last numeric segment, without ".weight" and a
     * LoRA factor's ".lora_A" or ".lora_B" ({@code ...experts.1.w1.weight} and {@code ...experts.1.w1.lora_A.weight}
     * → {@code w1}); a key without a numbered module is its last module name.
     */
    public static String role(String key) {
        String k = key.endsWith(".weight") ? key.substring(0, key.length() - ".weight".length()) : key;
        // A LoRA factor takes its module's role, so an adapter's blocks have the colours of the weights they adapt.
        k = k.endsWith(".lora_A") || k.endsWith(".lora_B") ? k.substring(0, k.length() - ".lora_A".length()) : k;
        // Scanned rather than split: a fused target of a large model has thousands of sources. Trailing empty
        // segments do not count (as split drops them).
        int end = k.length();
        while (end > 0 && k.charAt(end - 1) == '.') {
            end--;
        }
        int lastIndexEnd = -1;
        int start = 0;
        while (start < end) {
            int dot = k.indexOf('.', start);
            int segmentEnd = dot < 0 || dot > end ? end : dot;
            if (segmentEnd > start && digits(k, start, segmentEnd)) {
                lastIndexEnd = segmentEnd;
            }
            start = segmentEnd + 1;
        }
        return lastIndexEnd >= 0 && lastIndexEnd < end ? k.substring(lastIndexEnd + 1, end)
                : k.substring(k.lastIndexOf('.', end - 1) + 1, end);
    }

    private static boolean digits(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** The source key from its expert (or last numbered module's parent) on: {@code experts.1.w1}. */
    static String label(String key) {
        String k = key.endsWith(".weight") ? key.substring(0, key.length() - ".weight".length()) : key;
        String[] parts = k.split("\\.");
        for (int i = parts.length - 1; i > 0; i--) {
            if (parts[i].chars().allMatch(Character::isDigit) && !parts[i].isEmpty() && i < parts.length - 1) {
                return String.join(".", Arrays.copyOfRange(parts, i - 1, parts.length));
            }
        }
        return parts[parts.length - 1];
    }
}
