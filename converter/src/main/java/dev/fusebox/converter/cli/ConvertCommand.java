package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.convert.ConversionResult;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.Conversions;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.text.Sizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "convert", sortOptions = false,
        description = {"Write the checkpoint converted to the other layout; PATH is only read.",
                "OUT is a directory (built as OUT.partial and renamed when complete), or a .safetensors file."})
final class ConvertCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH",
            description = "A checkpoint directory, a .safetensors file, an index file, or a model in the "
                    + "Hugging Face cache (ORG/NAME[@REV], or its models--ORG--NAME folder).")
    private Path path;

    @Parameters(index = "1", paramLabel = "OUT", description = "Where to write the converted checkpoint.")
    private Path output;

    @Mixin
    private RuleOptions rules;

    @Mixin
    private AdapterOptions adapter;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", defaultValue = "5GB",
            description = "Largest shard file, e.g. 5GB, 500MB, 2GiB (default: ${DEFAULT-VALUE}).")
    private String maxShardSize;

    @Option(names = "--force", description = "Replace OUT if it is an earlier Fusebox output or an empty folder "
            + "(anything else is refused).")
    private boolean force;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    private boolean json;

    @Override
    public Integer call() throws FuseboxException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ConvertOptions options = new ConvertOptions(shardSize(), force);
        ProgressLine line = ProgressLine.onTerminal(err);
        try (Interruption interruption = Interruption.watch();
             Checkpoint c = Checkpoint.open(path, rules.ruleBook())) {
            ConversionPlan plan = Conversions.plan(c, adapter.request(rules)).plan();
            ConversionResult result;
            try {
                result = Conversions.execute(c, plan, output, options, line == null ? ProgressListener.NONE : line,
                        interruption);
            } finally {
                if (line != null) {
                    line.end();
                }
            }
            if (json) {
                JsonOutput.print(out, json(plan, result));
                return Cli.OK;
            }
            for (String w : plan.warnings()) {
                err.println("fusebox: warning: " + w);
            }
            err.flush();
            out.println("wrote " + result.output() + ": " + plan.from().jsonName() + " → " + plan.to().jsonName()
                    + ", " + Sizes.count(result.tensors()) + " tensors, " + Sizes.bytes(result.bytes()) + " in "
                    + result.weightFiles().size() + " file" + (result.weightFiles().size() == 1 ? "" : "s")
                    + (result.companions().isEmpty() ? "" : " + " + result.companions().size() + " copied unchanged")
                    + String.format(Locale.ROOT, " (%.2f s, %s/s)", result.nanos() / 1e9,
                    Sizes.bytes((long) result.bytesPerSecond())));
            out.flush();
        }
        return Cli.OK;
    }

    private long shardSize() throws FuseboxException {
        try {
            return Sizes.parse(maxShardSize);
        } catch (IllegalArgumentException e) {
            throw new FuseboxException(Problem.UNSUPPORTED, null, "--max-shard-size: " + e.getMessage());
        }
    }

    private static ObjectNode json(ConversionPlan plan, ConversionResult result) {
        ObjectNode r = JsonOutput.object();
        r.put("output", result.output().toString());
        r.put("from", plan.from().jsonName());
        r.put("to", plan.to().jsonName());
        r.put("tensors", result.tensors());
        r.put("bytes", result.bytes());
        r.put("seconds", result.nanos() / 1e9);
        ArrayNode warnings = r.putArray("warnings");
        plan.warnings().forEach(warnings::add);
        ArrayNode files = r.putArray("files");
        result.weightFiles().forEach(f -> files.add(f.getFileName().toString()));
        ArrayNode companions = r.putArray("companions");
        result.companions().forEach(f -> companions.add(f.getFileName().toString()));
        return r;
    }
}
