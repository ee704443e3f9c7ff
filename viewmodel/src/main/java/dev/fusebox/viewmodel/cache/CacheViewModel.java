package dev.fusebox.viewmodel.cache;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.CachedModel;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.HfCache;
import dev.fusebox.converter.text.Sizes;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.TensorFile;
import dev.fusebox.viewmodel.host.RulesSource;
import dev.fusebox.viewmodel.task.Job;
import dev.fusebox.viewmodel.task.TaskRunner;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The models in the Hugging Face cache, as {@code hf scan-cache} lists them (id and revision) with what Fusebox
 * sees in each (size of the weights, layout, family), read in the background; choosing one opens its snapshot.
 */
public final class CacheViewModel {

    /**
     * One snapshot of the cache.
     *
     * @param description "1.2 GiB · legacy · mixtral", or why it does not open
     */
    public record Entry(String name, String revision, String description, boolean opens, Path snapshot) {

        /** {@code ORG/NAME@0123abc · 1.2 GiB · legacy · mixtral}. */
        public String line() {
            return name + "@" + revision.substring(0, Math.min(7, revision.length())) + " · " + description;
        }
    }

    private final Job job;
    private final RulesSource rules;
    private final Consumer<List<Path>> opener;
    private final ObjectProperty<Path> root = new SimpleObjectProperty<>(this, "root",
            HfCache.fromEnvironment().root());
    private final ObservableList<Entry> models = FXCollections.observableArrayList();
    private final ObservableList<Entry> modelsView = FXCollections.unmodifiableObservableList(models);
    private boolean read;

    /** A list over {@code rules}' families whose entries {@code opener} opens. */
    public CacheViewModel(TaskRunner runner, RulesSource rules, Consumer<List<Path>> opener) {
        this.job = new Job(runner);
        this.rules = rules;
        this.opener = opener;
    }

    /** The cache's folder: where the environment points huggingface_hub, unless set. */
    public ObjectProperty<Path> rootProperty() {
        return root;
    }

    /** The snapshots, each with what it holds, after {@link #refresh}. */
    public ObservableList<Entry> models() {
        return modelsView;
    }

    public Job job() {
        return job;
    }

    /** Lists the cache again, opening each snapshot's headers and configs in the background. */
    public void refresh() {
        HfCache cache = new HfCache(root.get());
        read = true;
        job.start("Reading the Hugging Face cache", (progress, cancel) -> {
            RuleBook book = rules.load();
            List<Entry> out = new ArrayList<>();
            for (CachedModel m : cache.snapshots()) {
                cancel.check();
                out.add(entry(m, book, cache));
            }
            return out;
        }, models::setAll, failure -> models.clear());
    }

    /** Lists the cache unless it has been: what a menu asks each time it opens. */
    public void readOnce() {
        if (!read) {
            refresh();
        }
    }

    /** Opens {@code entry}'s snapshot as the workspace. */
    public void open(Entry entry) {
        opener.accept(List.of(entry.snapshot()));
    }

    private static Entry entry(CachedModel m, RuleBook book, HfCache cache) {
        try (Checkpoint c = Checkpoint.open(m.snapshot(), book, cache)) {
            long bytes = 0;
            for (TensorFile f : c.files()) {
                bytes = Math.addExact(bytes, f.fileSize());
            }
            return new Entry(m.repoId(), m.revision(), Sizes.bytes(bytes) + " · " + c.layout().jsonName() + " · "
                    + c.modelType(), true, m.snapshot());
        } catch (FuseboxException e) {
            return new Entry(m.repoId(), m.revision(), "does not open: " + e.getMessage(), false, m.snapshot());
        }
    }
}
