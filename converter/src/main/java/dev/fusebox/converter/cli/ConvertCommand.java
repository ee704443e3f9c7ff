package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.CheckpointKind;
import dev.fusebox.converter.lora.AdapterPlanner;
import dev.fusebox.converter.lora.MergePlanner;
import dev.fusebox.converter.convert.ConversionResult;
import dev.fusebox.converter.convert.ConvertOptions;
import dev.fusebox.converter.convert.PlanExecutor;
import dev.fusebox.converter.plan.ConversionPlan;
import dev.fusebox.converter.plan.Planner;
import dev.fusebox.converter.progress.ProgressListener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

@Command(name = "convert", sortOptions = false,
        description = {"Write the checkpoint converted to the other layout; PATH is only read.",
                "OUT is a directory (built as OUT.partial and renamed when complete), or a .safetensors file."})
final class ConvertCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH", description = "A checkpoint directory, a .safetensors file or an index file.")
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

    @Option(names = "--force", description = "Replace OUT if it exists.")
    private boolean force;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    private boolean json;

    @Override
    public Integer call() throws FuseboxException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ConvertOptions options = new ConvertOptions(Sizes.parse(maxShardSize), force);
        AtomicBoolean cancelled = new AtomicBoolean();
        CountDownLatch finished = new CountDownLatch(1);
        // Ctrl-C: ask the conversion to stop, and give it a moment to remove what it wrote.
        Thread hook = new Thread(() -> {
            cancelled.set(true);
            try {
                finished.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        ConversionResult result;
        ProgressLine line = ProgressLine.onTerminal(err);
        List<Checkpoint> others = new ArrayList<>();
        try (Checkpoint c = Checkpoint.open(path, rules.ruleBook())) {
            ConversionPlan plan;
            if (c.kind() == CheckpointKind.ADAPTER && adapter.mergeAdapter().isEmpty()) {
                plan = AdapterPlanner.plan(c, adapter.base(), c.ruleBook(), rules.target(), adapter.dtype()).plan();
            } else if (adapter.mergeAdapter().isPresent()) {
                adapter.checkModelConversion();
                others.add(Checkpoint.open(adapter.mergeAdapter().get(), c.ruleBook()));
                plan = MergePlanner.plan(c, others.getFirst(), c.ruleBook(), rules.target());
            } else {
                adapter.checkModelConversion();
                plan = Planner.plan(c, c.ruleBook(), rules.target());
            }
            ProgressListener listener = line == null ? ProgressListener.NONE : line;
            try {
                result = PlanExecutor.execute(c, others, plan, output, options, listener, cancelled::get);
            } finally {
                if (line != null) {
                    line.end();
                }
            }
            if (!json) {
                for (String w : plan.warnings()) {
                    err.println("fusebox: warning: " + w);
                }
                err.flush();
            }
            if (json) {
                JsonOutput.print(out, json(plan, result));
            } else {
                out.println("wrote " + result.output() + ": " + plan.from().jsonName() + " → " + plan.to().jsonName()
                        + ", " + Sizes.count(result.tensors()) + " tensors, " + Sizes.bytes(result.bytes()) + " in "
                        + result.weightFiles().size() + " file" + (result.weightFiles().size() == 1 ? "" : "s")
                        + (result.companions().isEmpty() ? "" : " + " + result.companions().size() + " copied unchanged")
                        + String.format(Locale.ROOT, " (%.2f s, %s/s)", result.nanos() / 1e9,
                        Sizes.bytes((long) result.bytesPerSecond())));
                out.flush();
            }
        } finally {
            others.forEach(Checkpoint::close);
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is exiting (Ctrl-C); the hook is already running
            }
        }
        return Cli.OK;
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
