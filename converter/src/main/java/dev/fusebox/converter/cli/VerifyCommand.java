package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.forward.ExpertCheckResult;
import dev.fusebox.converter.forward.ModelDims;
import dev.fusebox.converter.forward.ExpertCheckResult.ExpertComparison;
import dev.fusebox.converter.forward.ExpertCheckResult.RouterComparison;
import dev.fusebox.converter.forward.Tolerance;
import dev.fusebox.converter.forward.VerificationReport;
import dev.fusebox.converter.forward.VerificationReport.LayerComparison;
import dev.fusebox.converter.forward.VerificationReport.PositionComparison;
import dev.fusebox.converter.forward.VerificationReport.Side;
import dev.fusebox.converter.forward.VerificationReport.TokenLogit;
import dev.fusebox.converter.forward.VerificationRequest;
import dev.fusebox.converter.forward.Verifier;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.rules.RuleBook;
import dev.fusebox.converter.text.Sizes;
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
        description = {"Check that a conversion means the same: for every family, seeded states go through every "
                + "expert and router of both layouts (the expert check); for Mixtral, Qwen2-MoE, Qwen3-MoE and OLMoE, "
                + "a sample forward pass on the checkpoint (and its adapter) and on its conversion also "
                + "compares the hidden states after every layer, the routers' expert choices and the logits.",
                "Passes within 1e-4 on logits for float32 weights (float16: " + Tolerance.FLOAT16 + ", bfloat16: "
                        + Tolerance.BFLOAT16 + " of the largest logit) and with the same experts chosen; exit 1 "
                        + "otherwise."})
final class VerifyCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "PATH",
            description = "The source checkpoint: a directory, a .safetensors file, or a model in the "
                    + "Hugging Face cache (ORG/NAME[@REV]).")
    private Path path;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A LoRA adapter for PATH, applied unmerged.")
    private Path adapter;

    @Option(names = "--converted", paramLabel = "DIR",
            description = {"The converted checkpoint (a bare .safetensors file borrows PATH's config.json).",
                    "Without it, PATH is read converted to the other layout through its plan, the byte placements "
                            + "convert writes, and nothing is written (an adapter is converted into a temporary "
                            + "directory, deleted afterwards)."})
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
        if (converted != null && !ruleFiles.isEmpty()) {
            throw new FuseboxException(Problem.UNSUPPORTED, null, "--rules applies to the conversion verify reads "
                    + "without --converted");
        }
        VerificationRequest request = converted != null
                ? VerificationRequest.of(path, Optional.ofNullable(adapter), converted,
                Optional.ofNullable(convertedAdapter))
                : VerificationRequest.throughPlan(path, Optional.ofNullable(adapter))
                .withConvertedAdapter(Optional.ofNullable(convertedAdapter));
        request = request.withTokens(tokens).withRules(RuleBook.installed().withFiles(ruleFiles));
        if (layers != null) {
            request = request.withLayers(layers);
        }
        VerificationReport report;
        try (Interruption interruption = Interruption.watch()) {
            report = new Verifier().verify(request, ProgressListener.NONE, interruption);
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

    static ObjectNode json(VerificationReport r, boolean logits) {
        ObjectNode o = JsonOutput.object();
        o.put("passed", r.passed());
        ArrayNode checks = o.putArray("checks");
        if (r.forwardPass()) {
            checks.add("forward_pass");
        }
        checks.add("experts");
        o.set("expert_check", experts(r.experts()));
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
            lo.put("dense", l.dense());
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

    private static ObjectNode experts(ExpertCheckResult x) {
        ObjectNode o = JsonOutput.object();
        o.put("passed", x.passed());
        o.put("activation", x.activation().configName());
        o.put("samples", x.samples());
        o.put("real_states", x.realStates());
        o.put("weight_bytes", x.weightBytes());
        o.put("tolerance", x.tolerance());
        o.put("max_abs_diff", x.maxAbsDiff());
        o.put("seconds", x.nanos() / 1e9);
        ArrayNode experts = o.putArray("experts");
        for (ExpertComparison e : x.experts()) {
            ObjectNode eo = experts.addObject();
            eo.put("layer", e.layer());
            eo.put("expert", e.expert());
            eo.put("source_block", e.sourceBlock());
            eo.put("source_storage", e.sourceStorage());
            eo.put("converted_block", e.convertedBlock());
            eo.put("converted_expert", e.convertedExpert());
            eo.put("converted_storage", e.convertedStorage());
            eo.put("function", e.function());
            eo.put("max_abs_diff", e.maxAbsDiff());
            eo.put("allowed", e.allowed());
            eo.put("passed", e.passed());
        }
        ArrayNode routers = o.putArray("routers");
        for (RouterComparison rc : x.routers()) {
            ObjectNode ro = routers.addObject();
            ro.put("layer", rc.layer());
            ro.put("source_key", rc.sourceKey());
            ro.put("converted_key", rc.convertedKey());
            ro.put("max_abs_diff", rc.maxAbsDiff());
            ro.put("allowed", rc.allowed());
            ro.put("passed", rc.passed());
        }
        ArrayNode failures = o.putArray("failures");
        x.failures().forEach(failures::add);
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
        o.put("through_plan", s.throughPlan());
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
        out.println("checks     " + r.checks() + (r.forwardPass() ? "" : " (the forward pass implements " + ModelDims.FAMILIES + " only)"));
        if (r.forwardPass()) {
            out.println("tokens     " + r.tokens().stream().map(String::valueOf).collect(Collectors.joining(" "))
                    + "  (" + r.tokens().size() + " positions, " + r.layersRun() + " of " + r.layersTotal()
                    + " layers)");
            out.println();
            printForwardPass(out, r);
        }
        printExperts(out, r.experts(), r.layersTotal());
        if (r.passed()) {
            out.println("PASSED");
        } else {
            out.println("FAILED");
            r.failures().forEach(f -> out.println("  " + f));
        }
        if (logits && r.forwardPass()) {
            printLogits(out, "source", r.sourceLogits());
            printLogits(out, "converted", r.convertedLogits());
        }
        out.flush();
    }

    private static void printExperts(PrintWriter out, ExpertCheckResult x, int layersTotal) {
        out.println();
        out.printf(Locale.ROOT, "expert check: %d experts in %d of %d layers, %d routers · %s · %d seeded states%s "
                        + "each · read %s · %.0f ms%n", x.experts().size(), x.layers().size(), layersTotal,
                x.routers().size(), x.experts().isEmpty() ? "" : x.experts().getFirst().function(), x.samples(),
                x.realStates() > 0 ? " and " + x.realStates() + " from the forward pass" : "",
                Sizes.bytes(x.weightBytes()), x.nanos() / 1e6);
        out.println("layer  expert  source → converted                                           max|Δ|");
        for (ExpertComparison e : x.experts()) {
            out.printf(Locale.ROOT, "%-6d %-7d %-60s %s%s%n", e.layer(), e.expert(), e.sourceBlock() + " → "
                    + e.convertedBlock() + "[" + e.convertedExpert() + "]", num(e.maxAbsDiff()),
                    e.passed() ? "" : "  DIFF");
        }
        for (RouterComparison rc : x.routers()) {
            out.printf(Locale.ROOT, "%-6d router  %-60s %s%s%n", rc.layer(), rc.sourceKey() + " → "
                    + rc.convertedKey(), num(rc.maxAbsDiff()), rc.passed() ? "" : "  DIFF");
        }
        out.println();
    }

    private static void printForwardPass(PrintWriter out, VerificationReport r) {
        out.println("layer  hidden max|Δ|  router logits max|Δ|  same experts");
        for (LayerComparison l : r.layers()) {
            out.printf(Locale.ROOT, "%-6d %-14s %-21s %s%n", l.index(), num(l.maxAbsDiff()),
                    l.dense() ? "-" : num(l.routerLogitsMaxAbsDiff()),
                    l.dense() ? "dense MLP, no router" : l.routerAgreement() + "/" + r.tokens().size());
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
        return s.model() + (s.throughPlan() ? " converted through its plan, not written" : "") + " ("
                + s.layout().jsonName() + ", " + s.dtype().name() + ")"
                + s.adapter().map(a -> " + " + a).orElse("") + " · read " + Sizes.bytes(s.weightBytesRead())
                + (s.nanos() > 0 ? String.format(Locale.ROOT, " (forward pass %.0f ms)", s.nanos() / 1e6) : "");
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
