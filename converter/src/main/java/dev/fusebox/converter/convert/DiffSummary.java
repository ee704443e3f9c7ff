package dev.fusebox.converter.convert;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A value diff summed up where a person looks for it: per module, and per layer and part of a layer (attention,
 * router, each expert, the shared expert, the rest), so "the fine-tune moved layers 20–31's experts 3 and 5"
 * reads off one table. A fused tensor counts part by part, each part under the expert it belongs to.
 */
public final class DiffSummary {

    private static final Pattern LAYER = Pattern.compile("\\.layers\\.(\\d+)\\.");
    private static final Pattern EXPERT = Pattern.compile("\\.experts\\.(\\d+)\\.");
    private static final Pattern ROUTER = Pattern.compile("\\.(gate|router)(\\.[a-z_]+)?\\.(weight|bias)$"
            + "|e_score_correction_bias$|\\.router\\.[a-z_]+$");
    private static final Pattern ATTENTION = Pattern.compile("\\.(self_attn|attn|attention|linear_attn|mixer"
            + "|cross_attn)\\.");

    /** One cell of the per-layer table. {@code layer} is -1 for tensors outside the decoder layers. */
    public record Cell(int layer, String group, Difference difference) {
    }

    private DiffSummary() {
    }

    /** The figures of every module (a tensor's key without its last part) that has compared values. */
    public static Map<String, Difference> modules(DiffReport report) {
        Map<String, Difference> out = new LinkedHashMap<>();
        for (DiffReport.ValueDiff v : report.values().orElse(List.of())) {
            int dot = v.key().lastIndexOf('.');
            out.merge(dot < 0 ? "" : v.key().substring(0, dot), v.whole(), Difference::plus);
        }
        return out;
    }

    /** The cells of the per-layer table, by layer, then in the order attention, router, experts, the rest. */
    public static List<Cell> layers(DiffReport report) {
        Map<String, Cell> cells = new LinkedHashMap<>();
        for (DiffReport.ValueDiff v : report.values().orElse(List.of())) {
            if (v.parts().isEmpty()) {
                add(cells, v.key(), v.whole());
            } else {
                for (DiffReport.PartDiff p : v.parts()) {
                    add(cells, p.name(), p.difference());
                }
            }
        }
        List<Cell> out = new ArrayList<>(cells.values());
        out.sort(Comparator.comparingInt(Cell::layer).thenComparing(Cell::group, GROUP_ORDER));
        return out;
    }

    private static void add(Map<String, Cell> cells, String key, Difference d) {
        int index = layer(key);
        String group = group(key);
        cells.merge(index + "/" + group, new Cell(index, group, d),
                (x, y) -> new Cell(index, group, x.difference().plus(y.difference())));
    }

    /** Whether the tensor, or part of a fused one, named {@code key} counts in {@code cell}. */
    public static boolean inCell(String key, Cell cell) {
        return layer(key) == cell.layer() && group(key).equals(cell.group());
    }

    /** The decoder layer a key is in, -1 for none. */
    private static int layer(String key) {
        Matcher layer = LAYER.matcher(key);
        return layer.find() ? Integer.parseInt(layer.group(1)) : -1;
    }

    /** The part of a layer a key belongs to. */
    static String group(String key) {
        Matcher expert = EXPERT.matcher(key);
        if (expert.find()) {
            return "expert " + expert.group(1);
        }
        if (key.contains("shared_expert")) {
            return "shared expert";
        }
        if (key.contains(".experts.")) {
            return "experts";
        }
        if (ROUTER.matcher(key).find()) {
            return "router";
        }
        if (ATTENTION.matcher(key).find()) {
            return "attention";
        }
        return "other";
    }

    /** The order of a layer's parts: attention, router, the experts by number, shared expert, the rest. */
    public static final Comparator<String> GROUP_ORDER = Comparator.comparingInt(DiffSummary::rank);

    private static int rank(String group) {
        return switch (group) {
            case "attention" -> 0;
            case "router" -> 1;
            case "shared expert" -> Integer.MAX_VALUE - 2;
            case "experts" -> Integer.MAX_VALUE - 1;
            case "other" -> Integer.MAX_VALUE;
            default -> 2 + Integer.parseInt(group.substring("expert ".length()));
        };
    }
}
