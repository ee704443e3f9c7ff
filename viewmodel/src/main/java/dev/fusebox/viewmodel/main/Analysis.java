package dev.fusebox.viewmodel.main;

import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.safetensors.TensorSpec;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TensorLinks;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.browse.TreeRows;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything the screens show about an open workspace that takes work to derive (module trees), computed in the
 * background when it opens, so the UI thread only swaps it in.
 *
 * @param opened the side that shows the opened files
 * @param trees  the rows of each side's tree (null for a side with nothing to show)
 */
public record Analysis(Workspace workspace, Side opened, Map<Side, TreeRow> trees, Map<Side, String> captions,
                       TensorLinks links) {

    public static Analysis of(Workspace ws) {
        Side opened = Side.of(ws.layout());
        Checkpoint primary = ws.primary();
        Map<String, StoredTensor> stored = new HashMap<>();
        ws.checkpoints().forEach(c -> stored.putAll(c.tensors()));
        List<TensorSpec> model = ws.modelCheckpoint().map(Checkpoint::specs).orElse(List.of());
        List<TensorSpec> adapter = ws.adapterCheckpoint().map(Checkpoint::specs).orElse(List.of());
        TreeRow tree = TreeRows.build(opened, primary.modelType(), primary.modelConfig(), model, adapter, stored);
        Map<Side, TreeRow> trees = new HashMap<>();
        trees.put(opened, tree);
        Map<Side, String> captions = new HashMap<>();
        captions.put(opened, "opened: " + ws.displayName()
                + (ws.layout() == Layout.UNKNOWN ? " (no experts to convert)" : ""));
        captions.put(opened.other(), "");
        return new Analysis(ws, opened, trees, captions, TensorLinks.NONE);
    }

    public TreeRow tree(Side side) {
        return trees.get(side);
    }

    public String caption(Side side) {
        return captions.getOrDefault(side, "");
    }
}
