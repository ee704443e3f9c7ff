package dev.fusebox.converter.cli;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.convert.DiffReport;
import dev.fusebox.converter.convert.DiffSummary;
import dev.fusebox.converter.convert.Difference;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The per-layer picture of a value diff as one self-contained HTML page: layers down, the parts of a layer across
 * (attention, router, each expert, shared expert, the rest), each cell coloured by ‖a − b‖ / ‖a‖ on a log scale
 * and identical cells left pale, with every figure in the cell's tooltip.
 */
final class DiffHtml {

    private DiffHtml() {
    }

    static void write(Path file, DiffReport report) throws FuseboxException {
        List<DiffSummary.Cell> cells = DiffSummary.layers(report);
        List<String> groups = new ArrayList<>();
        Map<Integer, Map<String, DiffSummary.Cell>> rows = new TreeMap<>();
        for (DiffSummary.Cell c : cells) {
            if (!groups.contains(c.group())) {
                groups.add(c.group());
            }
            rows.computeIfAbsent(c.layer(), k -> new LinkedHashMap<>()).put(c.group(), c);
        }
        groups.sort(DiffSummary.GROUP_ORDER);
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Fusebox diff</title>\n")
                .append("<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:")
                .append("collapse}td,th{border:1px solid #ccc;padding:4px 6px;text-align:center;min-width:48px}")
                .append("th{background:#f3f3f3}td.same{background:#f7f7f7;color:#999}code{font-size:12px}</style>")
                .append("</head><body>\n<h1>How B differs from A</h1>\n<p>A <code>").append(escape(report.a()))
                .append("</code><br>B <code>").append(escape(report.b())).append("</code>")
                .append(report.mapping().map(m -> " (" + escape(m) + ")").orElse("")).append("</p>\n<p>")
                .append(report.same()).append(" tensors agree in key, dtype and shape, ").append(report.onlyInA().size())
                .append(" only in A, ").append(report.onlyInB().size()).append(" only in B, ")
                .append(report.changed().size()).append(" changed. Each cell: ‖a − b‖ / ‖a‖ of that part of the ")
                .append("layer; pale cells are identical.</p>\n<table>\n<tr><th>layer</th>");
        for (String g : groups) {
            h.append("<th>").append(escape(g)).append("</th>");
        }
        h.append("</tr>\n");
        for (Map.Entry<Integer, Map<String, DiffSummary.Cell>> row : rows.entrySet()) {
            h.append("<tr><th>").append(row.getKey() < 0 ? "outside" : row.getKey()).append("</th>");
            for (String g : groups) {
                DiffSummary.Cell c = row.getValue().get(g);
                if (c == null) {
                    h.append("<td></td>");
                } else {
                    cell(h, c.difference());
                }
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n</body></html>\n");
        try {
            Files.writeString(file, h);
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, file, "could not be written (" + IoReason.of(e) + ")", e);
        }
    }

    private static void cell(StringBuilder h, Difference d) {
        String tip = String.format(Locale.ROOT, "%d of %d elements differ; max |a − b| %.6g; ‖a − b‖ / ‖a‖ %.3g",
                d.differingElements(), d.elements(), d.maxAbsDiff(), d.relative());
        if (d.identical()) {
            h.append("<td class=\"same\" title=\"").append(tip).append("\">=</td>");
            return;
        }
        double r = d.relative();
        // log10 of the relative difference from -8 (barely) to 0 (as large as A itself): yellow to red.
        double t = Double.isNaN(r) ? 1 : Math.min(1, Math.max(0, (Math.log10(Math.max(r, 1e-12)) + 8) / 8));
        int green = (int) Math.round(220 - 190 * t);
        h.append("<td style=\"background:rgb(250,").append(green).append(",60)\" title=\"").append(tip).append("\">")
                .append(Double.isNaN(r) ? "≠" : String.format(Locale.ROOT, "%.2g", r)).append("</td>");
    }

    private static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                default -> out.append(Character.isISOControl(ch) ? '?' : ch);
            }
        }
        return out.toString();
    }
}
