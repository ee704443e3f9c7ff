package dev.fusebox.viewmodel.mapping;

import dev.fusebox.converter.lora.AdapterPlan;
import dev.fusebox.converter.lora.BlockMatrix;
import dev.fusebox.converter.lora.TargetLora;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.text.Sizes;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What the mapping screen lists for the plans of what is open, made without the UI thread (a DeepSeek-V3 has
 * 46 k rows): a row per target, the source roles in the order first met (so a role keeps its colour from target to
 * target) and one summary line per plan.
 *
 * @param rows    the model's targets, then the adapter's, each adapter row with what happens to its rank and alpha
 * @param roles   every source role of the rows' diagrams, in the order first met
 * @param summary family, direction, counts and bytes of each plan, one line each
 */
public record MappingTable(List<MappingRow> rows, List<String> roles, String summary) {

    public static final MappingTable EMPTY = new MappingTable(List.of(), List.of(), "");

    public MappingTable {
        rows = List.copyOf(rows);
        roles = List.copyOf(roles);
    }

    /** The table of the plans of the model and of the adapter (either may be absent). */
    public static MappingTable of(Optional<ConversionPlan> model, Optional<AdapterPlan> adapter) {
        List<MappingRow> all = new ArrayList<>();
        model.ifPresent(p -> p.targets().forEach(t -> all.add(MappingRow.of(t, "model"))));
        adapter.ifPresent(a -> a.plan().targets().forEach(t -> all.add(MappingRow.of(t, "adapter",
                a.lora(t.key()).map(TargetLora::summary).orElse("")))));
        String summary = describe(model, "Model").orElse("") + describe(adapter.map(AdapterPlan::plan), "Adapter")
                .map(s -> (model.isPresent() ? "\n" : "") + s).orElse("");
        return new MappingTable(all, roles(all), summary);
    }

    private static Optional<String> describe(Optional<ConversionPlan> plan, String what) {
        return plan.map(p -> {
            long copied = p.targets().stream().filter(t -> t.copiedWhole() && !t.renamed()).count();
            long renamed = p.targets().stream().filter(PlannedTarget::renamed).count();
            long built = p.targets().size() - copied - renamed;
            return what + ": " + p.modelType() + ", " + p.from().jsonName() + " → " + p.to().jsonName() + " by the "
                    + p.rules() + " · " + Sizes.count(p.sourceTensors().size()) + " tensors in, "
                    + Sizes.count(p.targets().size()) + " out, " + Sizes.bytes(p.targetBytes()) + " · "
                    + kinds(copied, renamed, built);
        });
    }

    /** "46,679 copied, 0 renamed, 58 built by operations". */
    static String kinds(long copied, long renamed, long built) {
        return Sizes.count(copied) + " copied, " + Sizes.count(renamed) + " renamed, " + Sizes.count(built)
                + " built by operations";
    }

    private static List<String> roles(List<MappingRow> rows) {
        Set<String> out = new LinkedHashSet<>();
        for (MappingRow r : rows) {
            List<String> keys = switch (r.target().recipe()) {
                case CopyRecipe c when !r.target().copiedWhole() ->
                        c.placements().stream().map(p -> p.source().key()).toList();
                case ComputedRecipe c when c.computation() instanceof BlockMatrix m ->
                        m.blocks().stream().map(b -> b.source().tensor().key()).toList();
                default -> List.of();
            };
            for (String key : keys) {
                out.add(ShapeDiagram.role(key));
            }
        }
        return List.copyOf(out);
    }
}
