package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.convert.CheckpointDiff;
import dev.fusebox.converter.convert.DiffReport;
import dev.fusebox.converter.convert.DiffSummary;
import dev.fusebox.converter.convert.Difference;
import dev.fusebox.converter.lora.AdapterAgainstBase;
import dev.fusebox.converter.lora.AdapterDeltaNorms;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.text.Sizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

import static dev.fusebox.converter.TerminalText.escape;

@Command(name = "diff", sortOptions = false,
        description = {"Layout diff of two checkpoints, aware of the legacy ↔ v5 mapping: B is read in A's layout.",
                "Exit code 0 when they agree, 1 when they differ."})
final class DiffCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "A",
            description = "The checkpoint whose layout the comparison uses (a path, or "
                    + "ORG/NAME[@REV] in the Hugging Face cache).")
    private Path a;

    @Parameters(index = "1", paramLabel = "B", description = "The checkpoint compared with it.")
    private Path b;

    @Option(names = "--values", description = "Also compare every tensor's bytes (and float values where they differ); "
            + "for an adapter against its base, read the weights it changes for ‖scale·B@A‖ / ‖W‖.")
    private boolean values;

    @Option(names = "--html", paramLabel = "OUT", description = "With --values: also write the per-layer picture of "
            + "the differences to the HTML file OUT, for a report.")
    private Path html;

    @Option(names = "--rules", paramLabel = "FILE", description = "An extra rule file; may be repeated.")
    private List<Path> ruleFiles = new ArrayList<>();

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    private boolean json;

    @Override
    public Integer call() throws FuseboxException {
        PrintWriter out = spec.commandLine().getOut();
        if (html != null && !values) {
            throw new FuseboxException(Problem.UNSUPPORTED, html, "shows how values differ; add --values");
        }
        RuleBook book = RuleBook.installed().withFiles(ruleFiles);
        DiffReport report;
        Optional<AdapterAgainstBase> adapter;
        String nameA;
        String nameB;
        ProgressLine line = values ? ProgressLine.onTerminal(spec.commandLine().getErr()) : null;
        // Ctrl-C may end a diff at once: it writes nothing until the comparison is done.
        try (Checkpoint ca = Checkpoint.open(a, book); Checkpoint cb = Checkpoint.open(b, book)) {
            try {
                report = CheckpointDiff.compare(ca, cb, values, line == null ? ProgressListener.NONE : line,
                        Cancellation.NEVER);
            } finally {
                if (line != null) {
                    line.end();
                }
            }
            adapter = AdapterAgainstBase.of(ca, cb, book, values);
            nameA = shown(ca);
            nameB = shown(cb);
        }
        if (html != null) {
            DiffHtml.write(html, report);
        }
        if (json) {
            ObjectNode o = json(report);
            adapter.ifPresent(d -> o.set("adapter", json(d)));
            JsonOutput.print(out, o);
        } else {
            printText(out, report, nameA, nameB);
            adapter.ifPresent(d -> printText(out, d));
        }
        return report.identical() ? Cli.OK : Cli.CHECK_FAILED;
    }

    private static ObjectNode json(DiffReport r) {
        ObjectNode o = JsonOutput.object();
        o.put("a", r.a());
        o.put("b", r.b());
        if (r.mapping().isPresent()) {
            o.put("mapping", r.mapping().get());
        } else {
            o.putNull("mapping");
        }
        o.put("identical", r.identical());
        o.put("same", r.same());
        ArrayNode onlyA = o.putArray("only_in_a");
        r.onlyInA().forEach(s -> onlyA.add(spec(s)));
        ArrayNode onlyB = o.putArray("only_in_b");
        for (DiffReport.OnlyInB s : r.onlyInB()) {
            ObjectNode e = spec(s.spec());
            ArrayNode from = e.putArray("from");
            s.from().forEach(from::add);
            onlyB.add(e);
        }
        ArrayNode changed = o.putArray("changed");
        for (DiffReport.Change c : r.changed()) {
            ObjectNode e = changed.addObject();
            e.put("key", c.key());
            e.set("a", spec(c.a()));
            e.set("b", spec(c.b()));
        }
        r.values().ifPresent(vs -> {
            ArrayNode values = o.putArray("values");
            for (DiffReport.ValueDiff v : vs) {
                ObjectNode e = values.addObject();
                e.put("key", v.key());
                e.put("identical", v.identical());
                e.put("differing_elements", v.differingElements());
                figures(e, v.whole());
                if (!v.parts().isEmpty()) {
                    ArrayNode parts = e.putArray("parts");
                    for (DiffReport.PartDiff p : v.parts()) {
                        ObjectNode part = parts.addObject();
                        part.put("name", p.name());
                        part.put("slice", p.slice());
                        figures(part, p.difference());
                    }
                }
            }
            ArrayNode modules = o.putArray("modules");
            DiffSummary.modules(r).forEach((module, d) -> figures(modules.addObject().put("module", module), d));
            ArrayNode layers = o.putArray("layers");
            for (DiffSummary.Cell c : DiffSummary.layers(r)) {
                ObjectNode cell = layers.addObject();
                if (c.layer() < 0) {
                    cell.putNull("layer");
                } else {
                    cell.put("layer", c.layer());
                }
                figures(cell.put("group", c.group()), c.difference());
            }
        });
        return o;
    }

    private static ObjectNode json(AdapterAgainstBase d) {
        ObjectNode o = JsonOutput.object();
        o.put("base", d.base());
        if (d.refused().isPresent()) {
            o.put("refused", d.refused().get());
            return o;
        }
        ArrayNode modules = o.putArray("modules");
        for (AdapterDeltaNorms.ModuleDelta m : d.modules()) {
            ObjectNode e = modules.addObject();
            e.put("weight", m.weight());
            e.put("out", m.out());
            e.put("in", m.in());
            e.put("rank", m.rank());
            e.put("scale", m.scale());
            number(e, "delta_norm", m.norm());
            m.baseNorm().ifPresent(w -> number(e, "weight_norm", w));
            m.relative().ifPresent(r -> number(e, "relative", r));
        }
        return o;
    }

    private static void printText(PrintWriter out, AdapterAgainstBase d) {
        if (d.refused().isPresent()) {
            out.println("the adapter's deltas on " + d.base() + " were not computed: " + d.refused().get());
        } else {
            out.println("the adapter changes " + d.modules().size() + " weight" + (d.modules().size() == 1 ? "" : "s")
                    + " of " + d.base() + " (‖scale·B@A‖_F" + (values(d) ? ", and over ‖W‖_F" : "") + "):");
            d.modules().forEach(m -> out.println(String.format(Locale.ROOT, "  %s  [%d, %d] r %d · scale %.4g · %.6g",
                    escape(m.weight()), m.out(), m.in(), m.rank(), m.scale(), m.norm())
                    + (m.relative().isPresent() ? String.format(Locale.ROOT, " · %.4g", m.relative().getAsDouble())
                    : "")));
        }
        out.flush();
    }

    /** Whether the base was read for the weights' own norms (--values). */
    private static boolean values(AdapterAgainstBase d) {
        return d.modules().stream().anyMatch(m -> m.baseNorm().isPresent());
    }

    private static void figures(ObjectNode o, Difference d) {
        o.put("identical", d.identical());
        o.put("elements", d.elements());
        o.put("differing_elements", d.differingElements());
        number(o, "max_abs_diff", d.maxAbsDiff());
        number(o, "relative_diff", d.relative());
    }

    /** A figure, or null where there is none (NaN) or it is unbounded (JSON has no infinity). */
    private static void number(ObjectNode o, String name, double v) {
        if (Double.isNaN(v)) {
            o.putNull(name);
        } else if (Double.isInfinite(v)) {
            o.put(name, "Infinity");
        } else {
            o.put(name, v);
        }
    }

    private static ObjectNode spec(TensorSpec s) {
        ObjectNode o = JsonOutput.object();
        o.put("key", s.key());
        o.put("dtype", s.dtype().name());
        o.set("shape", JsonOutput.shape(s.shape()));
        return o;
    }

    private static String figures(Difference d) {
        return Sizes.count(d.differingElements()) + " of " + Sizes.count(d.elements()) + " elements"
                + (Double.isNaN(d.maxAbsDiff()) ? "" : String.format(Locale.ROOT, ", max |Δ| %.6g, ‖Δ‖/‖A‖ %.3g",
                d.maxAbsDiff(), d.relative()));
    }

    /** Its path; for a Hugging Face cache snapshot, after the model's name: {@code ORG/NAME@0123abc (PATH)}. */
    private static String shown(Checkpoint c) {
        return c.cachedModel().map(m -> c.displayName() + " (" + c.location() + ")").orElse(c.location().toString());
    }

    private static void printText(PrintWriter out, DiffReport r, String a, String b) {
        out.println("A " + a);
        out.println("B " + b + r.mapping().map(m -> " (" + m + ")").orElse(""));
        out.println("  " + r.same() + " tensors agree in key, dtype and shape · " + r.onlyInA().size() + " only in A · "
                + r.onlyInB().size() + " only in B · " + r.changed().size() + " changed");
        r.values().ifPresent(vs -> out.println("  values: " + vs.stream().filter(DiffReport.ValueDiff::identical).count()
                + " identical, " + vs.stream().filter(v -> !v.identical()).count() + " differ"));
        if (!r.onlyInA().isEmpty()) {
            out.println("only in A:");
            r.onlyInA().forEach(s -> out.println("  " + escape(s.key()) + "  " + s.dtype().name() + " " + s.shape()));
        }
        if (!r.onlyInB().isEmpty()) {
            out.println("only in B:");
            r.onlyInB().forEach(s -> out.println("  " + escape(s.spec().key()) + "  " + s.spec().dtype().name() + " "
                    + s.spec().shape() + (s.from().equals(List.of(s.spec().key())) ? ""
                    : "  ← " + String.join(", ", s.from()))));
        }
        if (!r.changed().isEmpty()) {
            out.println("changed:");
            r.changed().forEach(c -> out.println("  " + escape(c.key()) + "  A " + c.a().dtype().name() + " "
                    + c.a().shape() + "  B " + c.b().dtype().name() + " " + c.b().shape()));
        }
        r.values().ifPresent(vs -> {
            List<DiffReport.ValueDiff> differ = vs.stream().filter(v -> !v.identical()).toList();
            if (!differ.isEmpty()) {
                out.println("values that differ:");
                differ.forEach(v -> out.println("  " + escape(v.key()) + "  " + figures(v.whole())));
                List<DiffSummary.Cell> cells = DiffSummary.layers(r).stream()
                        .filter(c -> !c.difference().identical()).toList();
                out.println("where they differ:");
                cells.forEach(c -> out.println("  " + (c.layer() < 0 ? "outside the layers" : "layer " + c.layer())
                        + ", " + c.group() + "  " + figures(c.difference())));
            }
        });
        out.flush();
    }
}
