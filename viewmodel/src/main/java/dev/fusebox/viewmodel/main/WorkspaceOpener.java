package dev.fusebox.viewmodel.main;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.viewmodel.workspace.Workspace;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns paths the user dropped or chose into a workspace: the last model among them and the last adapter. An
 * adapter opened without a model comes with its base model when adapter_config.json names a local directory, else
 * joins the model already open.
 */
final class WorkspaceOpener {

    private WorkspaceOpener() {
    }

    static Workspace open(List<Path> paths, Optional<Workspace> current, RuleBook rules, Cancellation cancel)
            throws FuseboxException {
        if (paths.isEmpty()) {
            throw new IllegalArgumentException("nothing to open");
        }
        List<Checkpoint> opened = new ArrayList<>();
        try {
            Checkpoint model = null;
            Checkpoint adapter = null;
            for (Path p : paths) {
                cancel.check();
                Checkpoint c = Checkpoint.open(p, rules);
                opened.add(c);
                if (c.kind() == CheckpointKind.ADAPTER) {
                    adapter = c;
                } else {
                    model = c;
                }
            }
            if (model == null) {
                Optional<Path> base = adapter.baseModelDirectory();
                if (base.isPresent()) {
                    model = Checkpoint.open(base.get(), rules);
                    opened.add(model);
                } else {
                    model = current.flatMap(Workspace::modelCheckpoint).orElse(null);
                }
            }
            Workspace ws = new Workspace(model, adapter);
            for (Checkpoint c : opened) {
                if (c != ws.model() && c != ws.adapter()) {
                    c.close();
                }
            }
            return ws;
        } catch (FuseboxException | RuntimeException e) {
            opened.forEach(Checkpoint::close);
            throw e;
        }
    }
}
