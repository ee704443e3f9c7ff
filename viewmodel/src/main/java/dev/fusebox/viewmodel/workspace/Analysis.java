package dev.fusebox.viewmodel.workspace;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.convert.ConversionRequest;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.converter.convert.PlannedConversion;
import dev.fusebox.converter.lora.AdapterPlan;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.viewmodel.browse.PlanLinks;
import dev.fusebox.viewmodel.browse.Side;
import dev.fusebox.viewmodel.browse.TensorLinks;
import dev.fusebox.viewmodel.browse.TreeRow;
import dev.fusebox.viewmodel.browse.TreeRows;
import dev.fusebox.viewmodel.mapping.MappingTable;
import dev.fusebox.viewmodel.mapping.PlanMessage;
import dev.fusebox.viewmodel.task.Failures;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Everything the screens show about an open workspace that takes work to derive, computed in the background when
 * it opens so the UI thread only swaps it in: the conversion plans of the model and of the adapter (or why there
 * are none), the module tree of each side (the opened files on theirs, what the plans would write on the other)
 * and the links between them.
 *
 * @param opened      the side that shows the opened files
 * @param trees       the rows of each side's tree (absent for a side with nothing to show)
 * @param modelPlan   the plan that converts the model to the other layout, when there is one
 * @param adapterPlan the plan that converts the adapter (with the model open as its base), when there is one
 * @param messages    the PEFT check of the adapter, then refusals and warnings of the planning, for the mapping
 *                    screen
 * @param mapping     the mapping screen's rows of both plans
 */
public record Analysis(Workspace workspace, Side opened, Map<Side, TreeRow> trees, Map<Side, String> captions,
                       TensorLinks links, Optional<ConversionPlan> modelPlan, Optional<AdapterPlan> adapterPlan,
                       List<PlanMessage> messages, MappingTable mapping) {

    public Analysis {
        trees = Map.copyOf(trees);
        captions = Map.copyOf(captions);
        messages = List.copyOf(messages);
    }

    public static Analysis of(Workspace ws) {
        Side opened = Side.of(ws.layout());
        Checkpoint primary = ws.primary();
        Map<String, StoredTensor> stored = stored(ws.checkpoints());
        List<TensorSpec> model = ws.modelCheckpoint().map(Checkpoint::specs).orElse(List.of());
        List<TensorSpec> adapter = ws.adapterCheckpoint().map(Checkpoint::specs).orElse(List.of());
        // The opened side's rows and the plans are the two long steps of opening a large checkpoint and need not
        // wait for each other: the rows are built on a second core for the side the layout names, and built again
        // only in the rare case planning finds the files on the other side.
        Side guess = opened;
        // Asked once: an adapter's model config is read from its base's folder on every call.
        String modelType = primary.modelType();
        Optional<ModelConfig> config = primary.modelConfig();
        CompletableFuture<TreeRow> guessedRows = CompletableFuture.supplyAsync(() -> TreeRows.build(guess,
                modelType, config, model, adapter, stored));
        List<PlanMessage> messages = new ArrayList<>();
        Optional<ConversionPlan> modelPlan = ws.modelCheckpoint()
                .flatMap(c -> plan(c, ws.request(c, Optional.empty()), "The model", messages)).map(PlannedConversion::plan);
        Optional<AdapterPlan> adapterPlan = ws.adapterCheckpoint().flatMap(c -> plan(c, ws.request(c, Optional.empty()),
                "The adapter", messages)).flatMap(PlannedConversion::adapter);
        adapterPlan.ifPresent(p -> messages.addFirst(PlanMessage.peftCheck(p.peftCheck())));
        Optional<ConversionPlan> adapterTargets = adapterPlan.map(AdapterPlan::plan);
        // The mapping screen's rows (46 k for a DeepSeek-V3) on the other core, while the other side's tree is built.
        CompletableFuture<MappingTable> mapping = CompletableFuture.supplyAsync(() -> MappingTable.of(modelPlan,
                adapterPlan));
        Side planned = modelPlan.or(() -> adapterTargets).map(p -> Side.of(p.from())).orElse(opened);
        if (modelPlan.isPresent() || adapterTargets.isPresent()) {
            opened = planned;
        }

        Map<Side, TreeRow> trees = new EnumMap<>(Side.class);
        Map<Side, String> captions = new EnumMap<>(Side.class);
        trees.put(opened, opened == guess ? joined(guessedRows)
                : TreeRows.build(opened, modelType, config, model, adapter, stored));
        captions.put(opened, "opened: " + ws.displayName());

        List<PlanLinks.Entry> links = new ArrayList<>();
        modelPlan.ifPresent(p -> links.add(new PlanLinks.Entry(p, Side.of(p.from()))));
        adapterTargets.ifPresent(p -> links.add(new PlanLinks.Entry(p, Side.of(p.from()))));
        if (!links.isEmpty()) {
            List<TensorSpec> modelOut = modelPlan.map(ConversionPlan::targetSpecs).orElse(List.of());
            List<TensorSpec> adapterOut = adapterTargets.map(ConversionPlan::targetSpecs).orElse(List.of());
            trees.put(opened.other(), TreeRows.build(opened.other(), modelType, config, modelOut, adapterOut,
                    Map.of()));
            captions.put(opened.other(), "what Convert writes, by the " + modelPlan.or(() -> adapterTargets)
                    .orElseThrow().rules());
        } else {
            captions.put(opened.other(), "no conversion: see the Mapping screen");
        }
        return new Analysis(ws, opened, trees, captions, links.isEmpty() ? TensorLinks.NONE : new PlanLinks(links),
                modelPlan, adapterPlan, messages, joined(mapping));
    }

    private static <T> T joined(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }

    /** The tensors in opened files by key: a lone checkpoint's own map, else the checkpoints' merged. */
    private static Map<String, StoredTensor> stored(List<Checkpoint> checkpoints) {
        if (checkpoints.size() == 1) {
            return checkpoints.getFirst().tensors();
        }
        Map<String, StoredTensor> stored = new HashMap<>();
        checkpoints.forEach(c -> stored.putAll(c.tensors()));
        return stored;
    }

    private static Optional<PlannedConversion> plan(Checkpoint c, ConversionRequest request, String what,
                                                    List<PlanMessage> messages) {
        try {
            PlannedConversion p = Conversions.plan(c, request);
            p.plan().warnings().forEach(w -> messages.add(new PlanMessage(PlanMessage.Kind.WARNING, what + ": " + w)));
            return Optional.of(p);
        } catch (FuseboxException e) {
            messages.add(new PlanMessage(PlanMessage.Kind.REFUSAL, what + " is not converted: " + Failures.sentence(e)));
            return Optional.empty();
        }
    }

    public Optional<TreeRow> tree(Side side) {
        return Optional.ofNullable(trees.get(side));
    }

    public String caption(Side side) {
        return captions.getOrDefault(side, "");
    }
}
