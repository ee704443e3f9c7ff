package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.progress.Cancellation;
import dev.fusebox.converter.progress.ProgressListener;
import dev.fusebox.converter.sample.SamplePreset;
import dev.fusebox.converter.sample.SampleWriter;
import dev.fusebox.converter.text.Sizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "sample", sortOptions = false,
        description = {"Write a synthetic legacy (transformers 4.x) Mixtral with seeded random weights, and with "
                + "--adapter a legacy PEFT LoRA adapter on q/k/v/o_proj and w1/w2/w3 beside it (OUT-lora).",
                "Presets: tiny (hidden 64, 4 experts, float32, 0.8 MB) and seed (hidden 1024, intermediate 3584, "
                        + "8 experts, 2 layers, 32/8 heads, vocab 32000, bfloat16, 0.5 GB)."})
final class SampleCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "OUT", description = "The directory to create (it must not exist, or be empty).")
    private Path out;

    @Option(names = "--preset", paramLabel = "NAME", description = "tiny or seed (default: tiny).")
    private String preset = "tiny";

    @Option(names = "--adapter", description = "Also write a LoRA adapter for it, in OUT-lora.")
    private boolean adapter;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the random weights (default: 1).")
    private long seed = 1;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    private boolean json;

    @Override
    public Integer call() throws FuseboxException {
        SamplePreset p = switch (preset) {
            case "tiny" -> SamplePreset.TINY;
            case "seed" -> SamplePreset.SEED;
            default -> throw new FuseboxException(Problem.UNSUPPORTED, null, "--preset is '" + preset
                    + "', expected tiny or seed");
        };
        SampleWriter.Result r = new SampleWriter(p, seed).write(out, adapter, SampleWriter.DEFAULT_MAX_SHARD_BYTES,
                ProgressListener.NONE, Cancellation.NEVER);
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            ObjectNode j = JsonOutput.object();
            j.put("model", r.model().toString());
            if (r.adapter().isPresent()) {
                j.put("adapter", r.adapter().get().toString());
            } else {
                j.putNull("adapter");
            }
            j.put("preset", p.cliName());
            j.put("seed", seed);
            j.put("bytes", r.bytes());
            ArrayNode files = j.putArray("files");
            r.files().forEach(f -> files.add(f.toString()));
            JsonOutput.print(o, j);
        } else {
            o.println("wrote " + r.model() + " (legacy Mixtral, " + p.cliName() + " preset, " + p.dtype().torchName()
                    + ", seed " + seed + ")");
            r.adapter().ifPresent(a -> o.println("wrote " + a + " (LoRA r " + p.rank() + ", alpha " + 2 * p.rank()
                    + " on q/k/v/o_proj and w1/w2/w3)"));
            o.println(Sizes.bytes(r.bytes()) + " of weights in " + r.files().size() + " files");
            o.flush();
        }
        return Cli.OK;
    }
}
