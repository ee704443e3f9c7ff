package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.converter.convert.PlannedConversion;
import dev.fusebox.converter.plan.ComputedRecipe;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.CopyRecipe;
import dev.fusebox.converter.plan.Placement;
import dev.fusebox.converter.plan.PlannedTarget;
import dev.fusebox.converter.tensor.TensorSpec;
import dev.fusebox.converter.text.Sizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;

import static dev.fusebox.converter.TerminalText.escape;

@Command(name = "plan", sortOptions = false,
        description = "Every tensor a conversion would write: key, dtype, shape, operations, and where each source lands.")
final class PlanCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "PATH",
            description = "A checkpoint directory, a .safetensors file, an index file, or a model in the "
                    + "Hugging Face cache (ORG/NAME[@REV], or its models--ORG--NAME folder).")
    private Path path;

    @Mixin
    private RuleOptions rules;

    @Mixin
    private AdapterOptions adapter;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    private boolean json;

    @Override
    public Integer call() throws FuseboxException {
        PrintWriter out = spec.commandLine().getOut();
        try (Checkpoint c = Checkpoint.open(path, rules.ruleBook())) {
            PlannedConversion planned = Conversions.plan(c, adapter.request(rules));
            if (planned.adapter().isPresent()) {
                if (json) {
                    JsonOutput.print(out, AdapterPlanOutput.json(planned.adapter().get()));
                } else {
                    AdapterPlanOutput.text(out, c.displayName(), planned.adapter().get());
                }
            } else if (json) {
                JsonOutput.print(out, json(planned.plan()));
            } else {
                printText(out, c, planned.plan());
            }
        }
        return Cli.OK;
    }

    static ObjectNode json(ConversionPlan plan) {
        ObjectNode r = JsonOutput.object();
        r.put("path", plan.source().toString());
        r.put("model_type", plan.modelType());
        r.put("rules", plan.rules());
        r.put("from", plan.from().jsonName());
        r.put("to", plan.to().jsonName());
        r.put("source_tensors", plan.sourceTensors().size());
        r.put("bytes", plan.targetBytes());
        ArrayNode warnings = r.putArray("warnings");
        plan.warnings().forEach(warnings::add);
        ArrayNode targets = r.putArray("targets");
        for (PlannedTarget t : plan.targets()) {
            ObjectNode o = targets.addObject();
            o.put("key", t.key());
            o.put("dtype", t.dtype().name());
            o.set("shape", JsonOutput.shape(t.shape()));
            o.put("bytes", t.byteSize());
            ArrayNode ops = o.putArray("ops");
            t.operations().forEach(ops::add);
            ArrayNode sources = o.putArray("sources");
            switch (t.recipe()) {
                case CopyRecipe copy -> {
                    o.put("recipe", "copy");
                    for (Placement p : copy.placements()) {
                        ObjectNode s = sources.addObject();
                        s.put("key", p.source().key());
                        s.set("shape", JsonOutput.shape(p.source().shape()));
                        s.put("dtype", p.source().dtype().name());
                        s.put("slice", p.sourceSlice());
                        s.put("lands", p.targetSlice(t.shape()));
                        p.targetBytes(t.shape()).ifPresent(b -> s.putArray("target_bytes").add(b.start()).add(b.end()));
                    }
                }
                case ComputedRecipe computed -> {
                    o.put("recipe", "computed");
                    o.put("description", computed.description());
                    for (TensorSpec s : computed.sources()) {
                        sources.addObject().put("key", s.key()).put("dtype", s.dtype().name())
                                .set("shape", JsonOutput.shape(s.shape()));
                    }
                }
            }
        }
        return r;
    }

    private static void printText(PrintWriter out, Checkpoint c, ConversionPlan plan) {
        long copied = plan.targets().stream().filter(t -> t.copiedWhole() && !t.renamed()).count();
        long renamed = plan.targets().stream().filter(PlannedTarget::renamed).count();
        long built = plan.targets().size() - copied - renamed;
        out.println(c.displayName() + ": " + plan.modelType() + ", " + plan.from().jsonName() + " → "
                + plan.to().jsonName() + " with the " + plan.rules());
        out.println("  " + Sizes.count(plan.sourceTensors().size()) + " tensors in, " + Sizes.count(plan.targets().size())
                + " out · " + Sizes.bytes(plan.targetBytes()) + " · " + copied + " copied, " + renamed + " renamed, "
                + built + " built by operations");
        for (String w : plan.warnings()) {
            out.println("  warning: " + w);
        }
        out.println();
        int width = plan.targets().stream().mapToInt(t -> escape(t.key()).length()).max().orElse(0);
        for (PlannedTarget t : plan.targets()) {
            String head = String.format("%-" + width + "s  %-4s %-16s ", escape(t.key()), t.dtype().name(), t.shape());
            if (t.copiedWhole()) {
                out.println(head + (t.renamed() ? "← " + escape(t.sources().getFirst().key()) : "copy"));
                continue;
            }
            switch (t.recipe()) {
                case CopyRecipe copy -> {
                    out.println(head + String.join(" · ", t.operations()));
                    int w = copy.placements().stream().mapToInt(p -> p.targetSlice(t.shape()).length()).max().orElse(0);
                    for (Placement p : copy.placements().stream()
                            .sorted(Comparator.comparingLong(p -> p.runs(t.shape()).targetBase())).toList()) {
                        String bytes = p.targetBytes(t.shape()).map(b -> p.coversWholeSource()
                                ? "  bytes " + b : "  source bytes " + p.sourceBytes(t.shape()).orElseThrow())
                                .orElse("  strided");
                        String slice = p.coversWholeSource() ? "" : p.sourceSlice();
                        out.printf("    %-" + w + "s ← %s%s %s%s%n", p.targetSlice(t.shape()),
                                escape(p.source().key()), slice, p.source().shape(), bytes);
                    }
                }
                case ComputedRecipe computed -> {
                    out.println(head + "computed: " + computed.description());
                    for (TensorSpec s : computed.sources()) {
                        out.println("    ← " + escape(s.key()) + " " + s.shape());
                    }
                }
            }
        }
        out.flush();
    }
}
