package dev.fusebox.converter.plan;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.tensor.TensorSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a conversion will write, decided before a byte is: every target tensor with its recipe, and the
 * source tensors they come from. A plan holds no file handle, so a view can keep it while the user browses; it
 * answers both "what feeds this target" and "where does this source go". Immutable.
 */
public final class ConversionPlan {

    /** The header entry of a safetensors file that holds its metadata, not a tensor. */
    private static final String RESERVED_KEY = "__metadata__";

    private final Path source;
    private final String modelType;
    private final String rules;
    private final Layout from;
    private final Layout to;
    private final List<TensorSpec> sourceTensors;
    private final List<PlannedTarget> targets;
    private final String weightsName;
    private final Map<String, String> generatedFiles;
    private final List<String> warnings;
    private final List<Path> otherInputs;
    private final Map<String, PlannedTarget> byTarget;
    // Made on the first question about a source: opening a large checkpoint shows the plan before anyone asks.
    // Two threads asking at once may both make it; they make equal maps, and either is kept.
    private volatile Map<String, List<SourceUse>> bySource;

    /**
     * @param source        the checkpoint the plan reads
     * @param modelType     the model type the rules were chosen for
     * @param rules         which rules made the plan, in words (family and origin)
     * @param from          the layout the source is in
     * @param to            the layout the plan writes
     * @param sourceTensors every tensor of the source, in its order
     * @param targets       every tensor to write, in writing order
     * @throws FuseboxException when two targets share a key, or one takes the name safetensors reserves: rules and
     *                          adapters decide the keys, so that is the input's doing
     */
    public ConversionPlan(Path source, String modelType, String rules, Layout from, Layout to,
                          List<TensorSpec> sourceTensors, List<PlannedTarget> targets) throws FuseboxException {
        this(source, modelType, rules, from, to, sourceTensors, targets, "model.safetensors", Map.of());
    }

    /**
     * A plan whose output names its weights differently or carries files of its own (an adapter conversion writes
     * {@code adapter_model.safetensors} and a rewritten {@code adapter_config.json}).
     *
     * @param weightsName    the weights file of a directory output ({@code model.safetensors}); shards are named
     *                       after it ({@code model-00001-of-00002.safetensors})
     * @param generatedFiles files to write into a directory output, by name, replacing any companion of that name
     */
    public ConversionPlan(Path source, String modelType, String rules, Layout from, Layout to,
                          List<TensorSpec> sourceTensors, List<PlannedTarget> targets, String weightsName,
                          Map<String, String> generatedFiles) throws FuseboxException {
        this(source, modelType, rules, from, to, sourceTensors, targets, weightsName, generatedFiles, List.of(),
                List.of());
    }

    /**
     * A plan that also warns, or whose computed targets read tensors of other inputs besides the source (an
     * adapter merged into the base being converted).
     *
     * @param warnings    what the user should know before converting, one sentence each
     * @param otherInputs the checkpoints besides {@code source} that computed targets read, in lookup order
     */
    public ConversionPlan(Path source, String modelType, String rules, Layout from, Layout to,
                          List<TensorSpec> sourceTensors, List<PlannedTarget> targets, String weightsName,
                          Map<String, String> generatedFiles, List<String> warnings, List<Path> otherInputs)
            throws FuseboxException {
        this.warnings = List.copyOf(warnings);
        this.otherInputs = List.copyOf(otherInputs);
        if (!weightsName.endsWith(".safetensors") || weightsName.contains("/")) {
            throw new IllegalArgumentException("the weights file name must be a plain *.safetensors name, not "
                    + weightsName);
        }
        this.weightsName = weightsName;
        this.generatedFiles = Collections.unmodifiableMap(new LinkedHashMap<>(generatedFiles));
        this.source = source;
        this.modelType = modelType;
        this.rules = rules;
        this.from = from;
        this.to = to;
        this.sourceTensors = List.copyOf(sourceTensors);
        this.targets = List.copyOf(targets);
        Map<String, PlannedTarget> t = HashMap.newHashMap(this.targets.size());
        for (PlannedTarget target : this.targets) {
            if (target.key().equals(RESERVED_KEY)) {
                throw new FuseboxException(Problem.KEY_COLLISION, source, madeFrom(target), "it "
                        + "would be written as '" + RESERVED_KEY + "', the name safetensors keeps for the file's "
                        + "metadata, so no tensor can have it; rename it to another key");
            }
            PlannedTarget before = t.put(target.key(), target);
            if (before != null) {
                throw new FuseboxException(Problem.KEY_COLLISION, source, target.key(), "two tensors would be "
                        + "written under this key (from '" + madeFrom(before) + "' and from '"
                        + madeFrom(target) + "'); each key of the output must be made once");
            }
        }
        this.byTarget = Collections.unmodifiableMap(t);
    }

    /** The source key a target is made from first (its own key when it reads none). */
    private static String madeFrom(PlannedTarget target) {
        return target.sources().isEmpty() ? target.key() : target.sources().getFirst().key();
    }

    /** Where each source goes, by source key, in target order. */
    private Map<String, List<SourceUse>> sourceIndex() {
        Map<String, List<SourceUse>> s = HashMap.newHashMap(sourceTensors.size());
        for (PlannedTarget target : targets) {
            switch (target.recipe()) {
                case CopyRecipe c -> {
                    for (Placement p : c.placements()) {
                        addUse(s, p.source().key(), new SourceUse(target, Optional.of(p)));
                    }
                }
                case ComputedRecipe c -> {
                    for (TensorSpec spec : c.sources()) {
                        addUse(s, spec.key(), new SourceUse(target, Optional.empty()));
                    }
                }
            }
        }
        s.replaceAll((k, v) -> v instanceof ArrayList ? List.copyOf(v) : v);
        return Collections.unmodifiableMap(s);
    }

    /**
     * Adds a use of source {@code key}. Nearly every source of a large model feeds one target, so a first use is
     * kept as an immutable list of one, and only a second makes a growable list.
     */
    private static void addUse(Map<String, List<SourceUse>> uses, String key, SourceUse use) {
        List<SourceUse> before = uses.putIfAbsent(key, List.of(use));
        if (before == null) {
            return;
        }
        if (!(before instanceof ArrayList)) {
            before = new ArrayList<>(before);
            uses.put(key, before);
        }
        before.add(use);
    }

    public Path source() {
        return source;
    }

    public String modelType() {
        return modelType;
    }

    public String rules() {
        return rules;
    }

    public Layout from() {
        return from;
    }

    public Layout to() {
        return to;
    }

    /** The name of the weights file a directory output gets. */
    public String weightsName() {
        return weightsName;
    }

    /** Files the output directory gets besides the weights and the companions, by name. */
    public Map<String, String> generatedFiles() {
        return generatedFiles;
    }

    /** What the user should know before converting, one sentence each. */
    public List<String> warnings() {
        return warnings;
    }

    /** The checkpoints besides the source that computed targets read, in lookup order. */
    public List<Path> otherInputs() {
        return otherInputs;
    }

    /** Every tensor of the source, in its order. */
    public List<TensorSpec> sourceTensors() {
        return sourceTensors;
    }

    /** Every tensor to write, in writing order. */
    public List<PlannedTarget> targets() {
        return targets;
    }

    /** The target with this key. */
    public Optional<PlannedTarget> target(String key) {
        return Optional.ofNullable(byTarget.get(key));
    }

    /** The keys, dtypes and shapes the output will hold, in writing order (for the other layout's module tree). */
    public List<TensorSpec> targetSpecs() {
        return targets.stream().map(PlannedTarget::spec).toList();
    }

    /** What feeds target {@code key}: its placements for a copy (empty for a computed target or an unknown key). */
    public List<Placement> feeding(String key) {
        PlannedTarget t = byTarget.get(key);
        return t != null && t.recipe() instanceof CopyRecipe c ? c.placements() : List.of();
    }

    /** Where source tensor {@code key} goes: every target it feeds, with where it lands. */
    public List<SourceUse> uses(String key) {
        return sourceUses().getOrDefault(key, List.of());
    }

    /**
     * Indexes where each source goes, once; {@link #uses} needs it. Planning leaves it out (a conversion never asks);
     * the desktop app calls this in the background, so a click in the tree does not pay for it.
     */
    public void indexSources() {
        sourceUses();
    }

    private Map<String, List<SourceUse>> sourceUses() {
        Map<String, List<SourceUse>> s = bySource;
        if (s == null) {
            s = sourceIndex();
            bySource = s;
        }
        return s;
    }

    /** Total bytes of tensor data the plan writes. */
    public long targetBytes() {
        long n = 0;
        for (PlannedTarget t : targets) {
            n = Math.addExact(n, t.byteSize());
        }
        return n;
    }

    @Override
    public String toString() {
        return "plan " + from.jsonName() + " → " + to.jsonName() + " of " + source + " (" + targets.size() + " targets)";
    }
}
