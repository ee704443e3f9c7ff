package dev.fusebox.viewmodel.workspace;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.convert.ConversionRequest;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What is open: a model, an adapter, or an adapter on its base model. Either may be missing, not both.
 *
 * @param model   a model checkpoint, or null
 * @param adapter a PEFT adapter, or null
 */
public record Workspace(Checkpoint model, Checkpoint adapter) {

    public Workspace {
        if (model == null && adapter == null) {
            throw new IllegalArgumentException("a workspace holds a model, an adapter or both");
        }
    }

    public Optional<Checkpoint> modelCheckpoint() {
        return Optional.ofNullable(model);
    }

    public Optional<Checkpoint> adapterCheckpoint() {
        return Optional.ofNullable(adapter);
    }

    /** The model, else the adapter: the checkpoint the window is about. */
    public Checkpoint primary() {
        return model != null ? model : adapter;
    }

    /** Model first, then adapter. */
    public List<Checkpoint> checkpoints() {
        List<Checkpoint> out = new ArrayList<>(2);
        if (model != null) {
            out.add(model);
        }
        if (adapter != null) {
            out.add(adapter);
        }
        return out;
    }

    /** The layout of what is open: the model's, else the adapter's, else unknown when they disagree. */
    public Layout layout() {
        if (model != null && adapter != null && model.layout() != adapter.layout()
                && model.layout() != Layout.UNKNOWN && adapter.layout() != Layout.UNKNOWN) {
            return Layout.UNKNOWN;
        }
        if (model != null && model.layout() != Layout.UNKNOWN) {
            return model.layout();
        }
        return adapter != null ? adapter.layout() : Layout.UNKNOWN;
    }

    /**
     * How {@code c}, one of the checkpoints here, converts to {@code to} (by default the other layout): the model
     * by itself, the adapter on the model open beside it (so its config need not name it).
     */
    public ConversionRequest request(Checkpoint c, Optional<Layout> to) {
        ConversionRequest r = ConversionRequest.DEFAULT.withTo(to);
        return c == adapter ? r.withBase(modelCheckpoint().map(Checkpoint::location)) : r;
    }

    /** "legacy-base + legacy-lora-attn_experts". */
    public String displayName() {
        return String.join(" + ", checkpoints().stream().map(Workspace::name).toList());
    }

    /**
     * The window's title: the model type, then what is open ("mixtral · legacy-base"), so checkpoints of several
     * families in folders of one name ("legacy") tell apart.
     */
    public String title() {
        return primary().modelType() + " · " + displayName();
    }

    /** A checkpoint's folder or file name; an index file's folder, since its own name is the same everywhere. */
    static String name(Checkpoint c) {
        Path file = c.location().getFileName();
        return file != null && file.toString().endsWith(".index.json") && c.directory().getFileName() != null
                ? c.directory().getFileName().toString() : c.displayName();
    }
}
