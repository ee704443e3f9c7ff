package dev.fusebox.viewmodel.browse;

import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * One row of a module tree: a module, one of its tensors, or an adapter tensor shown under the module it modifies.
 * Rows are compared by identity: the same module may appear on both sides, as two rows.
 */
public final class TreeRow {

    /** What a row stands for. */
    public enum Kind { MODULE, TENSOR, ADAPTER_TENSOR }

    private final Side side;
    private final Kind kind;
    private final String name;
    private final String path;
    private final String type;
    private final TensorSpec spec;
    private final StoredTensor stored;
    private final List<TreeRow> children = new ArrayList<>();
    private TreeRow parent;
    private long bytes;
    private long parameters;
    /** The one dtype of the tensors at or below this row (null: none yet), unless {@link #mixed}. */
    private Dtype dtype;
    private boolean mixed;

    private TreeRow(Side side, Kind kind, String name, String path, String type, TensorSpec spec,
                    StoredTensor stored) {
        this.side = side;
        this.kind = kind;
        this.name = name;
        this.path = path;
        this.type = type;
        this.spec = spec;
        this.stored = stored;
    }

    static TreeRow module(Side side, String name, String path, String type) {
        return new TreeRow(side, Kind.MODULE, name, path, type, null, null);
    }

    static TreeRow tensor(Side side, Kind kind, String name, TensorSpec spec, StoredTensor stored) {
        TreeRow row = new TreeRow(side, kind, name, spec.key(), "", spec, stored);
        row.bytes = spec.shape().byteSize(spec.dtype());
        row.parameters = spec.shape().elementCount();
        row.dtype = spec.dtype();
        return row;
    }

    void add(TreeRow child) {
        child.parent = this;
        children.add(child);
        for (TreeRow r = this; r != null; r = r.parent) {
            r.bytes = Math.addExact(r.bytes, child.bytes);
            r.parameters = Math.addExact(r.parameters, child.parameters);
            r.mixed |= child.mixed || (child.dtype != null && r.dtype != null && r.dtype != child.dtype);
            if (r.dtype == null) {
                r.dtype = child.dtype;
            }
        }
    }

    public Side side() {
        return side;
    }

    public Kind kind() {
        return kind;
    }

    public boolean isTensor() {
        return kind != Kind.MODULE;
    }

    /** The name within the parent: {@code w1}, {@code weight}, {@code lora_A.weight}. */
    public String name() {
        return name;
    }

    /** A module's dotted path, or a tensor's full key as stored (PEFT prefix included). */
    public String path() {
        return path;
    }

    /** A module's class and extra_repr, as {@code print(model)} shows it; empty for tensors. */
    public String type() {
        return type;
    }

    /** The tensor's key, dtype and shape; empty for modules. */
    public Optional<TensorSpec> spec() {
        return Optional.ofNullable(spec);
    }

    /** The tensor's bytes in an opened file; empty for modules and for tensors that only a conversion would write. */
    public Optional<StoredTensor> stored() {
        return Optional.ofNullable(stored);
    }

    /** Bytes of the tensor, or of every tensor below the module. */
    public long bytes() {
        return bytes;
    }

    /** Elements of the tensor, or of every tensor below the module (as the Hub's viewer counts parameters). */
    public long parameters() {
        return parameters;
    }

    /** {@link #parameters()} as the Hub shows it: "512", "6.14 K", "46.7 M", "671 B". */
    public String parametersText() {
        return compact(parameters);
    }

    static String compact(long n) {
        if (n < 1000) {
            return Long.toString(n);
        }
        String[] units = {"K", "M", "B", "T", "P", "E"};
        double v = n;
        int u = -1;
        while (v >= 999.5 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        String digits = v >= 99.95 ? String.format(java.util.Locale.ROOT, "%.0f", v)
                : v >= 9.995 ? String.format(java.util.Locale.ROOT, "%.1f", v)
                : String.format(java.util.Locale.ROOT, "%.2f", v);
        return digits + " " + units[u];
    }

    /**
     * What a row's context menu copies, in menu order: a tensor's key, the path of its module (a module's own
     * path) and a tensor's shape; the root (no path) copies nothing.
     */
    public java.util.Map<String, String> copyTexts() {
        java.util.Map<String, String> texts = new java.util.LinkedHashMap<>();
        if (isTensor()) {
            texts.put("Copy key", path);
            parent().map(TreeRow::path).filter(p -> !p.isEmpty()).ifPresent(p -> texts.put("Copy module path", p));
            texts.put("Copy shape", shapeText());
        } else if (!path.isEmpty()) {
            texts.put("Copy module path", path);
        }
        return texts;
    }

    /** "[96, 64]" for a tensor, "" for a module. */
    public String shapeText() {
        return spec == null ? "" : spec.shape().toString();
    }

    /**
     * The tensor's dtype, or the one dtype all tensors below share ("mixed" when they differ, "" when none); kept
     * as rows are added, since a table asks for it on every repaint of a module's row (the root's holds 92 k).
     */
    public String dtypeText() {
        return mixed ? "mixed" : dtype == null ? "" : dtype.name();
    }

    public List<TreeRow> children() {
        return Collections.unmodifiableList(children);
    }

    public Optional<TreeRow> parent() {
        return Optional.ofNullable(parent);
    }

    /** This row if it is a tensor, else every tensor row below it, in tree order. */
    public List<TreeRow> tensors() {
        List<TreeRow> out = new ArrayList<>();
        collectTensors(this, out);
        return out;
    }

    private static void collectTensors(TreeRow row, List<TreeRow> out) {
        if (row.isTensor()) {
            out.add(row);
        }
        for (TreeRow c : row.children) {
            collectTensors(c, out);
        }
    }

    /** Whether {@code other} is this row or below it. */
    public boolean contains(TreeRow other) {
        for (TreeRow r = other; r != null; r = r.parent) {
            if (r == this) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return side + ":" + path;
    }
}
