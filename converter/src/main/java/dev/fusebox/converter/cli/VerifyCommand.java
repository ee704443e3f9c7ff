package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.convert.TemporaryConversion;
import dev.fusebox.converter.forward.Tolerance;
import dev.fusebox.converter.forward.VerificationReport;
import dev.fusebox.converter.forward.VerificationReport.LayerComparison;
import dev.fusebox.converter.forward.VerificationReport.PositionComparison;
import dev.fusebox.converter.forward.VerificationReport.Side;
import dev.fusebox.converter.forward.VerificationReport.TokenLogit;
import dev.fusebox.converter.forward.VerificationRequest;
import dev.fusebox.converter.forward.Verifier;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

@Command(name = "verify", sortOptions = false,
        description = {"Run a sample forward pass on a checkpoint (and adapter) and on its conversion, and compare "
                + "the hidden states after every layer, the routers' expert choices and the logits.",
                "Passes within 1e-4 on logits for float32 weights (float16: " + Tolerance.FLOAT16 + ", bfloat16: "
                        + Tolerance.BFLOAT16 + " of the largest logit) and with the same experts chosen; exit 1 "
                        + "otherwise."})
final class VerifyCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "PATH", description = "The source checkpoint: a directory or a .safetensors file.")
    private Path path;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A LoRA adapter for PATH, applied unmerged.")
    private Path adapter;

    @Option(names = "--converted", paramLabel = "DIR",
            description = {"The converted checkpoint (a bare .safetensors file borrows PATH's config.json).",
                    "Without it, PATH (and the adapter) are converted to the other layout into a temporary "
                            + "directory, which is deleted afterwards."})
    private Path converted;

    @Option(names = "--converted-adapter", paramLabel = "DIR",
            description = "The converted adapter; leave it out when the conversion merged the adapter, or to have "
                    + "it converted on the fly without --converted.")
    private Path convertedAdapter;

    @Option(names = "--rules", paramLabel = "FILE",
            description = "For the conversion made without --converted: an extra rule file (JSON, as in "
                    + "~/.config/fusebox/rules); may be repeated.")
    private List<Path> ruleFiles = new ArrayList<>();

    @Option(names = "--tokens", paramLabel = "IDS", split = ",",
            description = "Token ids to run, e.g. 1,2,3, at most " + Verifier.MOST_TOKENS + " (default: 16 ids "
                    + "spread over the vocabulary).")
    private List<Integer> tokens = List.of();

    @Option(names = "--layers", paramLabel = "N", description = "Verify only the first N layers.")
    private Integer layers;

    @Option(names = "--emit-logits", description = "Print both sides' logits [position][vocab].")
    private boolean emitLogits;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    private boolean json;

    @Override
    public Integer call() throws FuseboxException {
        Verifier.checkTokenCount(path, tokens.size());
        VerificationReport report;
        if (converted != null) {
            if (!ruleFiles.isEmpty()) {
                throw new IllegalArgumentException("--rules applies to the conversion verify makes without "
                        + "--converted");
            }
            report = verify(converted, Optional.ofNullable(convertedAdapter), Cancellation.NEVER);
        } else {
            report = verifyOnTheFly();
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            JsonOutput.print(out, json(report, emitLogits));
        } else {
            printText(out, report, emitLogits);
        }
        if (!report.passed()) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("fusebox: verification failed: " + report.failures().getFirst() + ".");
            err.flush();
            return Cli.CHECK_FAILED;
        }
        return Cli.OK;
    }

    /**
     * Converts PATH (and the adapter, with PATH as its base, unless --converted-adapter names its conversion) into
     * a temporary directory, compares, and deletes the directory, also on a failure or Ctrl-C.
     */
    private VerificationReport verifyOnTheFly() throws FuseboxException {
        RuleBook book = RuleBook.installed().withFiles(ruleFiles);
        try (Interruption interruption = Interruption.watch();
             Checkpoint model = Checkpoint.open(path, book);
             Checkpoint source = adapter == null || convertedAdapter != null ? null : Checkpoint.open(adapter, book);
             TemporaryConversion conversion = TemporaryConversion.write(TemporaryConversion.systemTemporaryFolder(),
                     model, Optional.ofNullable(source), ProgressListener.NONE, interruption)) {
            Optional<Path> convertedSide = convertedAdapter != null ? Optional.of(convertedAdapter)
                    : conversion.adapter();
            return verify(conversion.model(), convertedSide, interruption);
        }
    }

    private VerificationReport verify(Path convertedModel, Optional<Path> convertedSide, Cancellation cancellation)
            throws FuseboxException {
        VerificationRequest request = VerificationRequest.of(path, Optional.ofNullable(adapter), convertedModel,
                convertedSide).withTokens(tokens);
        if (layers != null) {
            request = request.withLayers(layers);
        }
        return new Verifier().verify(request, ProgressListener.NONE, cancellation);
    }

    static ObjectNode json(VerificationReport r, boolean logits) {
        ObjectNode o = JsonOutput.object();
        o.put("passed", r.passed());
        o.put("max_abs_diff", r.maxAbsDiff());
        o.put("tolerance", r.tolerance());
        ArrayNode tokens = o.putArray("tokens");
        r.tokens().forEach(tokens::add);
        o.put("layers_run", r.layersRun());
        o.put("layers_total", r.layersTotal());
        ArrayNode layers = o.putArray("layers");
        for (LayerComparison l : r.layers()) {
            ObjectNode lo = layers.addObject();
            lo.put("index", l.index());
            lo.put("max_abs_diff", l.maxAbsDiff());
            lo.put("tolerance", l.tolerance());
            lo.put("router_logits_max_abs_diff", l.routerLogitsMaxAbsDiff());
            lo.put("router_agreement", l.routerAgreement());
            lo.set("source_experts", experts(l.sourceExperts()));
            lo.set("converted_experts", experts(l.convertedExperts()));
        }
        o.put("router_agreement", r.routerAgreement());
        o.put("router_decisions", r.routerDecisions());
        o.put("top1_agreement", r.top1Agreement());
        o.put("top5_agreement", r.top5Agreement());
        ArrayNode positions = o.putArray("positions");
        for (PositionComparison p : r.positions()) {
            ObjectNode po = positions.addObject();
            po.put("position", p.position());
            po.put("token", p.token());
            po.put("max_abs_diff", p.maxAbsDiff());
            po.put("top1_agrees", p.top1Agrees());
            po.put("top5_overlap", p.top5Overlap());
            po.set("source_top5", top5(p.sourceTop5()));
            po.set("converted_top5", top5(p.convertedTop5()));
        }
        o.set("source", side(r.source()));
        o.set("converted", side(r.converted()));
        ArrayNode failures = o.putArray("failures");
        r.failures().forEach(failures::add);
        if (logits) {
            o.set("legacy_logits", matrix(r.sourceLogits()));
            o.set("converted_logits", matrix(r.convertedLogits()));
        }
        return o;
    }

    private static ArrayNode experts(List<int[]> perPosition) {
        ArrayNode a = JsonOutput.array();
        for (int[] e : perPosition) {
            ArrayNode row = a.addArray();
            for (int x : e) {
                row.add(x);
            }
        }
        return a;
    }

    private static ArrayNode top5(List<TokenLogit> top) {
        ArrayNode a = JsonOutput.array();
        for (TokenLogit t : top) {
            a.addObject().put("token", t.token()).put("logit", t.logit());
        }
        return a;
    }

    private static ObjectNode side(Side s) {
        ObjectNode o = JsonOutput.object();
        o.put("path", s.model().toString());
        o.put("layout", s.layout().jsonName());
        if (s.adapter().isPresent()) {
            o.put("adapter", s.adapter().get().toString());
        } else {
            o.putNull("adapter");
        }
        o.put("dtype", s.dtype().name());
        o.put("weight_bytes_read", s.weightBytesRead());
        o.put("seconds", s.nanos() / 1e9);
        return o;
    }

    private static ArrayNode matrix(float[][] m) {
        ArrayNode a = JsonOutput.array();
        for (float[] row : m) {
            ArrayNode r = a.addArray();
            for (float v : row) {
                r.add(v);
            }
        }
        return a;
    }

    private static void printText(PrintWriter out, VerificationReport r, boolean logits) {
        out.println("source     " + describe(r.source()));
        out.println("converted  " + describe(r.converted()));
        out.println("tokens     " + r.tokens().stream().map(String::valueOf).collect(Collectors.joining(" "))
                + "  (" + r.tokens().size() + " positions, " + r.layersRun() + " of " + r.layersTotal() + " layers)");
        out.println();
        out.println("layer  hidden max|Δ|  router logits max|Δ|  same experts");
        for (LayerComparison l : r.layers()) {
            out.printf(Locale.ROOT, "%-6d %-14s %-21s %d/%d%n", l.index(), num(l.maxAbsDiff()),
                    num(l.routerLogitsMaxAbsDiff()), l.routerAgreement(), r.tokens().size());
        }
        out.println();
        out.println("pos  token   logits max|Δ|  top-1  source top-5 → converted top-5");
        for (PositionComparison p : r.positions()) {
            out.printf(Locale.ROOT, "%-4d %-7d %-14s %-6s %s → %s%n", p.position(), p.token(), num(p.maxAbsDiff()),
                    p.top1Agrees() ? "same" : "DIFF", tokenList(p.sourceTop5()), tokenList(p.convertedTop5()));
        }
        out.println();
        out.println("logits max|Δ| " + num(r.maxAbsDiff()) + " (tolerance " + plain(r.tolerance()) + ") · top-1 "
                + r.top1Agreement() + "/" + r.positions().size() + " · top-5 " + r.top5Agreement() + "/"
                + 5 * r.positions().size() + " · routers " + r.routerAgreement() + "/" + r.routerDecisions());
        if (r.passed()) {
            out.println("PASSED");
        } else {
            out.println("FAILED");
            r.failures().forEach(f -> out.println("  " + f));
        }
        if (logits) {
            printLogits(out, "source", r.sourceLogits());
            printLogits(out, "converted", r.convertedLogits());
        }
        out.flush();
    }

    private static void printLogits(PrintWriter out, String side, float[][] logits) {
        out.println();
        out.println(side + " logits, one line per position:");
        for (float[] row : logits) {
            StringBuilder line = new StringBuilder();
            for (float v : row) {
                line.append(line.isEmpty() ? "" : " ").append(v);
            }
            out.println(line);
        }
    }

    private static String describe(Side s) {
        return s.model() + " (" + s.layout().jsonName() + ", " + s.dtype().name() + ")"
                + s.adapter().map(a -> " + " + a).orElse("") + String.format(Locale.ROOT, " · read %s in %.0f ms",
                Sizes.bytes(s.weightBytesRead()), s.nanos() / 1e6);
    }

    private static String tokenList(List<TokenLogit> top) {
        return top.stream().map(t -> Integer.toString(t.token())).collect(Collectors.joining(" "));
    }

    /** {@code 1e-4} → {@code 0.0001}. */
    private static String plain(double v) {
        return BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }

    private static String num(double v) {
        return v == 0 ? "0" : String.format(Locale.ROOT, "%.3g", v);
    }
}
