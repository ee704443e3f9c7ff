package dev.fusebox.converter.forward;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One MoE block's experts as one layout stores them, told by the keys and shapes alone (not by the rules, so a check
 * built on it does not take the conversion's word for what it wrote): per-expert linear weights [out, in] named
 * w1/gate_proj (gate), w3/up_proj (up) and w2/down_proj (down), as transformers 4.x keeps them; or stacked over the
 * experts, as v5 does: {@code experts.gate_up_proj} [E, 2I, H] whose first half of rows is the gate, {@code
 * experts.up_proj} [E, I, H] for ungated experts, {@code experts.down_proj} [E, H, I], or the same transposed ([E,
 * H, 2I], as qwen3_vl_moe's 4.x checkpoints and aria_text keep them: the shapes tell which), or under granitemoe's
 * {@code input_linear}/{@code output_linear} and aria_text's {@code fc1}/{@code fc2}.
 */
final class ExpertBlock {

    /** The three linear maps of a gated expert: {@code down(act(gate(x)) · up(x))}; an ungated one has no gate. */
    enum Role {
        GATE, UP, DOWN;

        String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private enum Stack { GATE_UP, UP, DOWN }

    private static final Pattern PER_EXPERT =
            Pattern.compile("^(.+)\\.experts\\.(\\d+)\\.(w1|w2|w3|gate_proj|up_proj|down_proj)\\.weight$");
    private static final Pattern STACKED = Pattern.compile(
            "^(.+)(?:\\.experts\\.(gate_up_proj|up_proj|down_proj)|\\.experts\\.(fc1|fc2)\\.weight"
                    + "|\\.(input_linear|output_linear)\\.weight)$");
    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)layers\\.(\\d+)(?:\\.|$)");

    /**
     * One stored linear map of one expert: a [rows, cols] block of tensor {@code key} from {@code byteOffset}; its
     * rows are the outputs, or, {@code transposed}, its rows are the inputs and columns [from, from + count) the
     * outputs.
     */
    record Projection(String key, Dtype dtype, long byteOffset, int rows, int cols, boolean transposed, int from,
                      int count, String slice) {

        int in() {
            return transposed ? rows : cols;
        }

        int out() {
            return transposed ? count : rows;
        }

        long byteSize() {
            return Math.multiplyExact(Math.multiplyExact((long) rows, cols), dtype.byteSize());
        }

        String describe() {
            return key + slice;
        }
    }

    /** The block and expert a tensor belongs to; {@code expert} is -1 for a tensor stacked over the experts. */
    record Owner(String prefix, int expert) {
    }

    /** The blocks of one layout, by prefix, and which block each of their tensors belongs to. */
    record Blocks(Map<String, ExpertBlock> byPrefix, Map<String, Owner> owners) {
    }

    private final String prefix;
    private final int layer;
    private final int experts;
    private final Map<Integer, Map<Role, TensorSpec>> perExpert;
    private final Map<Stack, TensorSpec> stacked;
    private final boolean transposed;

    private ExpertBlock(String prefix, int experts, Map<Integer, Map<Role, TensorSpec>> perExpert,
                        Map<Stack, TensorSpec> stacked, boolean transposed) {
        this.prefix = prefix;
        Matcher m = LAYER.matcher(prefix);
        this.layer = m.find() ? Integer.parseInt(m.group(1)) : -1;
        this.experts = experts;
        this.perExpert = perExpert;
        this.stacked = stacked;
        this.transposed = transposed;
    }

    String prefix() {
        return prefix;
    }

    /** The decoder layer the block is in, or -1 when its keys name none. */
    int layer() {
        return layer;
    }

    int experts() {
        return experts;
    }

    Set<Role> roles() {
        if (!perExpert.isEmpty()) {
            return EnumSet.copyOf(perExpert.get(0).keySet());
        }
        Set<Role> r = EnumSet.noneOf(Role.class);
        if (stacked.containsKey(Stack.GATE_UP)) {
            r.add(Role.GATE);
            r.add(Role.UP);
        }
        if (stacked.containsKey(Stack.UP)) {
            r.add(Role.UP);
        }
        if (stacked.containsKey(Stack.DOWN)) {
            r.add(Role.DOWN);
        }
        return r;
    }

    /** How the block stores its experts, in words. */
    String storage() {
        return !perExpert.isEmpty() ? "per expert" : transposed ? "stacked, transposed" : "stacked";
    }

    /** Expert {@code e}'s linear map {@code role}, which {@link #roles} must hold. */
    Projection projection(int e, Role role) {
        if (!perExpert.isEmpty()) {
            TensorSpec t = perExpert.get(e).get(role);
            return new Projection(t.key(), t.dtype(), 0, (int) t.shape().dim(0), (int) t.shape().dim(1), false, 0,
                    (int) t.shape().dim(0), "");
        }
        boolean gateUp = role != Role.DOWN && stacked.containsKey(Stack.GATE_UP);
        TensorSpec t = stacked.get(gateUp ? Stack.GATE_UP : role == Role.UP ? Stack.UP : Stack.DOWN);
        long rows = t.shape().dim(1);
        long cols = t.shape().dim(2);
        long slice = Math.multiplyExact(Math.multiplyExact(rows, cols), t.dtype().byteSize());
        long offset = Math.multiplyExact(slice, e);
        if (!transposed) {
            long out = gateUp ? rows / 2 : rows;
            long first = gateUp && role == Role.UP ? out : 0;
            return new Projection(t.key(), t.dtype(),
                    Math.addExact(offset, Math.multiplyExact(Math.multiplyExact(first, cols), t.dtype().byteSize())),
                    (int) out, (int) cols, false, 0, (int) out,
                    "[" + e + ", " + (gateUp ? first + ":" + (first + out) : ":") + ", :]");
        }
        long out = gateUp ? cols / 2 : cols;
        long first = gateUp && role == Role.UP ? out : 0;
        return new Projection(t.key(), t.dtype(), offset, (int) rows, (int) cols, true, (int) first, (int) out,
                "[" + e + ", :, " + (gateUp ? first + ":" + (first + out) : ":") + "]");
    }

    /**
     * The expert blocks among {@code specs}. {@code hidden} (config.json's hidden size, when it gives one) tells a
     * stacked block's orientation where the shapes alone cannot (ungated experts). A block whose tensors do not fit
     * together is refused, naming the tensor.
     */
    static Blocks find(Iterable<TensorSpec> specs, OptionalInt hidden, Path location) throws FuseboxException {
        Map<String, TreeMap<Integer, Map<Role, TensorSpec>>> per = new LinkedHashMap<>();
        Map<String, Map<Stack, TensorSpec>> stacks = new LinkedHashMap<>();
        Map<String, Owner> owners = new LinkedHashMap<>();
        for (TensorSpec t : specs) {
            Matcher m = PER_EXPERT.matcher(t.key());
            if (m.matches() && t.shape().rank() == 2) {
                Role role = switch (m.group(3)) {
                    case "w1", "gate_proj" -> Role.GATE;
                    case "w3", "up_proj" -> Role.UP;
                    default -> Role.DOWN;
                };
                int e = Integer.parseInt(m.group(2));
                per.computeIfAbsent(m.group(1), k -> new TreeMap<>()).computeIfAbsent(e, k -> new EnumMap<>(Role.class))
                        .put(role, t);
                owners.put(t.key(), new Owner(m.group(1), e));
                continue;
            }
            m = STACKED.matcher(t.key());
            if (m.matches() && t.shape().rank() == 3) {
                String name = m.group(2) != null ? m.group(2) : m.group(3) != null ? m.group(3) : m.group(4);
                Stack s = switch (name) {
                    case "gate_up_proj", "fc1", "input_linear" -> Stack.GATE_UP;
                    case "up_proj" -> Stack.UP;
                    default -> Stack.DOWN;
                };
                stacks.computeIfAbsent(m.group(1), k -> new EnumMap<>(Stack.class)).put(s, t);
                owners.put(t.key(), new Owner(m.group(1), -1));
            }
        }
        Map<String, ExpertBlock> blocks = new LinkedHashMap<>();
        for (var entry : per.entrySet()) {
            blocks.put(entry.getKey(), perExpertBlock(entry.getKey(), entry.getValue(), location));
        }
        for (var entry : stacks.entrySet()) {
            if (blocks.containsKey(entry.getKey())) {
                throw new FuseboxException(Problem.SHAPE_MISMATCH, location, entry.getKey(),
                        "holds its experts both one by one and stacked");
            }
            blocks.put(entry.getKey(), stackedBlock(entry.getKey(), entry.getValue(), hidden, location));
        }
        return new Blocks(blocks, owners);
    }

    /** Experts 0 to n-1, each with the same projections; their widths may differ (ernie4_5_vl_moe's vision half). */
    private static ExpertBlock perExpertBlock(String prefix, NavigableMap<Integer, Map<Role, TensorSpec>> experts,
                                              Path location) throws FuseboxException {
        Map<Role, TensorSpec> first = experts.firstEntry().getValue();
        int n = experts.lastKey() + 1;
        for (int e = 0; e < n; e++) {
            Map<Role, TensorSpec> roles = experts.get(e);
            if (roles == null || !roles.keySet().equals(first.keySet())) {
                throw new FuseboxException(Problem.SHAPE_MISMATCH, location, prefix + ".experts." + e,
                        "does not have the projections expert " + experts.firstKey() + " has ("
                                + first.keySet() + ")");
            }
        }
        return new ExpertBlock(prefix, n, Map.copyOf(experts), Map.of(), false);
    }

    private static ExpertBlock stackedBlock(String prefix, Map<Stack, TensorSpec> s, OptionalInt hidden,
                                            Path location) throws FuseboxException {
        TensorSpec gu = s.get(Stack.GATE_UP);
        TensorSpec up = s.get(Stack.UP);
        TensorSpec dn = s.get(Stack.DOWN);
        if (gu != null && up != null) {
            throw new FuseboxException(Problem.SHAPE_MISMATCH, location, up.key(),
                    "is an ungated expert stack beside the gated " + gu.key());
        }
        TensorSpec in = gu != null ? gu : up;
        long experts = (in != null ? in : dn).shape().dim(0);
        for (TensorSpec t : s.values()) {
            if (t.shape().dim(0) != experts) {
                throw new FuseboxException(Problem.SHAPE_MISMATCH, location, t.key(),
                        "stacks " + t.shape().dim(0) + " experts where the block's other tensors stack " + experts);
            }
        }
        boolean transposed;
        int h = hidden.orElse(-1);
        if (in != null && dn != null) {
            long k = gu != null ? 2 : 1;
            boolean plain = in.shape().dim(1) == k * dn.shape().dim(2) && in.shape().dim(2) == dn.shape().dim(1);
            boolean swapped = in.shape().dim(2) == k * dn.shape().dim(1) && in.shape().dim(1) == dn.shape().dim(2);
            if (!plain && !swapped) {
                throw new FuseboxException(Problem.SHAPE_MISMATCH, location, dn.key(), "is " + dn.shape()
                        + ", which does not fit " + in.key() + " " + in.shape() + " either way round");
            }
            transposed = (plain && swapped) ? (h > 0 && in.shape().dim(2) != h && in.shape().dim(1) == h) : swapped;
        } else if (in != null) {
            transposed = h > 0 && in.shape().dim(2) != h && in.shape().dim(1) == h;
        } else {
            transposed = h > 0 && dn.shape().dim(1) != h && dn.shape().dim(2) == h;
        }
        if (gu != null && gu.shape().dim(transposed ? 2 : 1) % 2 != 0) {
            throw new FuseboxException(Problem.SHAPE_MISMATCH, location, gu.key(),
                    "is " + gu.shape() + ", whose gate and up halves cannot be equal");
        }
        return new ExpertBlock(prefix, Math.toIntExact(experts), Map.of(), s, transposed);
    }
}
