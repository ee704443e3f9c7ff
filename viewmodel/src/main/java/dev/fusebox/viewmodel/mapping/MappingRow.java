package dev.fusebox.viewmodel.mapping;

import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorSpec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One row of the mapping table: a tensor the conversion writes and where it comes from, in words.
 *
 * @param group      the layer it belongs to ("Layer 0"), or "Outside the layers"
 * @param checkpoint "model" or "adapter"
 * @param kind       "copy", "rename", "fuse" (operations over several sources), "split" (part of one source) or
 *                   "compute"
 * @param loraText   for an adapter's target: its LoRA's rank and alpha before and after ("rank 4 → 8, alpha 8 → 16
 *                   (scale 2)"); else empty
 */
public record MappingRow(String group, int layer, String checkpoint, PlannedTarget target, String kind,
                         String sourcesText, String sourceShapesText, String operationsText, String loraText) {

    private static final Pattern LAYER = Pattern.compile("\\.(?:layers|h|blocks)\\.(\\d+)\\.");
    public static final String OUTSIDE_LAYERS = "Outside the layers";

    public static MappingRow of(PlannedTarget t, String checkpoint) {
        return of(t, checkpoint, "");
    }

    public static MappingRow of(PlannedTarget t, String checkpoint, String loraText) {
        Matcher m = LAYER.matcher(t.key());
        int layer = m.find() ? Integer.parseInt(m.group(1)) : -1;
        List<TensorSpec> sources = t.sources();
        String kind = switch (t.recipe()) {
            case ComputedRecipe c -> "compute";
            case CopyRecipe c -> t.copiedWhole() ? (t.renamed() ? "rename" : "copy")
                    : sources.size() > 1 ? "fuse" : "split";
        };
        String sourcesText = sources.size() == 1 ? sources.getFirst().key()
                : sources.getFirst().key() + " + " + (sources.size() - 1) + " more";
        String operations = switch (t.recipe()) {
            case ComputedRecipe c -> c.description();
            case CopyRecipe c -> t.operations().isEmpty() ? (t.renamed() ? "rename" : "") : String.join(" · ", t.operations());
        };
        return new MappingRow(layer < 0 ? OUTSIDE_LAYERS : "Layer " + layer, layer, checkpoint, t, kind, sourcesText,
                shapes(sources), operations, loraText);
    }

    /** "4 × [96, 64]" for four sources of one shape; "[96, 64] + [64, 96]" otherwise. */
    private static String shapes(List<TensorSpec> sources) {
        Map<Shape, Integer> counts = new LinkedHashMap<>();
        sources.forEach(s -> counts.merge(s.shape(), 1, Integer::sum));
        return counts.entrySet().stream().map(e -> e.getValue() == 1 ? e.getKey().toString()
                : e.getValue() + " × " + e.getKey()).collect(Collectors.joining(" + "));
    }

    public String targetKey() {
        return target.key();
    }

    /** The key within its layer ({@code mlp.experts.gate_up_proj}), for a table grouped by layer; else the key. */
    public String keyInLayer() {
        Matcher m = LAYER.matcher(target.key());
        return m.find() ? target.key().substring(m.end()) : target.key();
    }

    public String targetShapeText() {
        return target.shape().toString();
    }

    public String dtypeText() {
        return target.dtype().name();
    }

    public long bytes() {
        return target.byteSize();
    }

    /** Whether every word of {@code query} (case-insensitive) appears in the target, a source or the operations. */
    public boolean matches(String query) {
        String q = query.strip().toLowerCase(Locale.ROOT);
        if (q.isEmpty()) {
            return true;
        }
        StringBuilder text = new StringBuilder(target.key()).append(' ').append(operationsText).append(' ')
                .append(kind).append(' ').append(checkpoint);
        target.sources().forEach(s -> text.append(' ').append(s.key()));
        String haystack = text.toString().toLowerCase(Locale.ROOT);
        for (String word : q.split("\\s+")) {
            if (!haystack.contains(word)) {
                return false;
            }
        }
        return true;
    }
}
