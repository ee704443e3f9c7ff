package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.TerminalText;
import dev.fusebox.converter.checkpoint.AdapterConfig;
import dev.fusebox.converter.checkpoint.Checkpoint;
import dev.fusebox.converter.checkpoint.ModelConfig;
import dev.fusebox.converter.checkpoint.QuantizationConfig;
import dev.fusebox.converter.checkpoint.StoredTensor;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.TensorFile;
import dev.fusebox.converter.text.Numbers;
import dev.fusebox.converter.text.Sizes;
import dev.fusebox.converter.tree.ModuleTree;
import dev.fusebox.converter.tree.ModuleTreeBuilder;
import dev.fusebox.converter.tree.TorchRepr;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;

@Command(name = "inspect", sortOptions = false,
        description = "Layout, module tree, tensors, dtypes and sizes of a checkpoint or adapter.")
final class InspectCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "PATH",
            description = "A checkpoint or adapter directory, a .safetensors file, a model.safetensors.index.json, "
                    + "or a model in the Hugging Face cache (ORG/NAME[@REV], or its models--ORG--NAME folder).")
    private Path path;

    @Option(names = "--tensors", description = "List every tensor (the JSON output always does).")
    private boolean listTensors;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    private boolean json;

    @Override
    public Integer call() throws FuseboxException {
        PrintWriter out = spec.commandLine().getOut();
        try (Checkpoint c = Checkpoint.open(path)) {
            ModuleTree tree = ModuleTreeBuilder.build(c.specs(), c.modelType(), c.modelConfig(), c.layout());
            if (json) {
                JsonOutput.print(out, report(c, tree));
            } else {
                printText(out, c, tree);
            }
        }
        return 0;
    }

    private static ObjectNode report(Checkpoint c, ModuleTree tree) {
        ObjectNode r = JsonOutput.object();
        r.put("path", c.location().toString());
        c.cachedModel().ifPresent(m -> r.put("model_id", m.repoId()).put("revision", m.revision()));
        r.put("kind", c.kind().jsonName());
        r.put("layout", c.layout().jsonName());
        r.put("model_type", c.modelType());
        ArrayNode files = r.putArray("files");
        for (TensorFile f : c.files()) {
            files.addObject().put("file", fileName(c, f)).put("bytes", f.fileSize()).put("tensors", f.tensors().size());
        }
        ArrayNode tensors = r.putArray("tensors");
        for (StoredTensor t : c.tensors().values()) {
            ObjectNode o = tensors.addObject();
            o.put("key", t.key());
            o.put("dtype", t.dtype().name());
            o.set("shape", JsonOutput.shape(t.shape()));
            o.put("file", fileName(c, t.file()));
            o.put("offset", t.fileOffset());
            o.put("bytes", t.byteSize());
        }
        Totals totals = Totals.of(c);
        ObjectNode tot = r.putObject("totals");
        tot.put("tensors", c.tensors().size());
        tot.put("parameters", totals.parameters);
        tot.put("bytes", totals.bytes);
        ObjectNode perDtype = tot.putObject("bytes_per_dtype");
        totals.bytesPerDtype.forEach((d, n) -> perDtype.put(d.name(), n));
        c.config().ifPresent(cfg -> r.set("config", cfg.raw()));
        quantization(c).ifPresent(q -> r.set("quantization_config", q.raw()));
        c.adapterConfig().ifPresent(ac -> r.set("adapter_config", ac.raw()));
        r.put("tree", TorchRepr.print(tree.root()));
        r.put("tree_exact", tree.exact());
        r.put("tree_source", tree.description());
        return r;
    }

    private void printText(PrintWriter out, Checkpoint c, ModuleTree tree) {
        out.println(TerminalText.escape(c.displayName()) + " — " + c.kind().jsonName() + ", " + c.modelType() + ", "
                + c.layout().jsonName() + " layout");
        c.cachedModel().ifPresent(m -> out.println("  cache     " + m.repoId() + ", revision " + m.revision()
                + " (Hugging Face cache)"));
        c.modelConfig().ifPresent(cfg -> out.println("  config    " + describe(cfg)));
        quantization(c).ifPresent(q -> out.println("  quantized " + q.describe()));
        c.adapterConfig().ifPresent(ac -> out.println("  adapter   " + describe(ac)));
        List<String> fileLines = new ArrayList<>();
        for (TensorFile f : c.files()) {
            fileLines.add(TerminalText.escape(fileName(c, f)) + " (" + Sizes.bytes(f.fileSize()) + ", " + f.tensors().size() + " tensors)");
        }
        out.println("  files     " + String.join("\n            ", fileLines));
        Totals totals = Totals.of(c);
        List<String> perDtype = new ArrayList<>();
        totals.bytesPerDtype.forEach((d, n) -> perDtype.add(d.name() + " " + Sizes.bytes(n)));
        out.println("  tensors   " + Sizes.count(c.tensors().size()) + " · " + Sizes.count(totals.parameters)
                + " parameters · " + Sizes.bytes(totals.bytes) + " (" + String.join(", ", perDtype) + ")");
        if (listTensors) {
            out.println();
            int width = c.tensors().keySet().stream().mapToInt(k -> TerminalText.escape(k).length()).max().orElse(0);
            for (StoredTensor t : c.tensors().values()) {
                out.printf("  %-" + width + "s  %-5s %-18s %s%n", TerminalText.escape(t.key()), t.dtype().name(),
                        t.shape(),
                        Sizes.bytes(t.byteSize()));
            }
        }
        out.println();
        out.println("Module tree " + tree.description() + ":");
        out.print(TorchRepr.print(tree.root()));
        out.flush();
    }

    /** config.json's quantization_config, for a pre-quantized checkpoint. */
    private static Optional<QuantizationConfig> quantization(Checkpoint c) {
        return c.modelConfig().flatMap(cfg -> QuantizationConfig.of(cfg.raw()));
    }

    private static String describe(ModelConfig cfg) {
        List<String> parts = new ArrayList<>();
        add(parts, "hidden ", cfg.hiddenSize());
        add(parts, "intermediate ", cfg.expertIntermediateSize());
        if (cfg.numExperts().isPresent()) {
            parts.add(cfg.numExperts().getAsInt() + " experts"
                    + (cfg.numExpertsPerTok().isPresent() ? ", top-" + cfg.numExpertsPerTok().getAsInt() : ""));
        }
        add(parts, "layers ", cfg.numHiddenLayers());
        if (cfg.numAttentionHeads().isPresent()) {
            parts.add("heads " + cfg.numAttentionHeads().getAsInt() + "/" + cfg.numKeyValueHeads().getAsInt() + " kv");
        }
        add(parts, "vocab ", cfg.vocabSize());
        cfg.dtype().ifPresent(d -> parts.add(d.torchName()));
        return String.join(" · ", parts);
    }

    private static String describe(AdapterConfig ac) {
        List<String> parts = new ArrayList<>();
        parts.add(ac.peftType());
        parts.add("r " + ac.r());
        parts.add("alpha " + Numbers.plain(ac.loraAlpha()));
        if (ac.useRslora()) {
            parts.add("rslora");
        }
        List<String> targets = new ArrayList<>(ac.targetModules());
        ac.targetModulesRegex().ifPresent(targets::add);
        targets.addAll(ac.targetParameters());
        parts.add("targets " + String.join(", ", targets));
        ac.baseModelNameOrPath().ifPresent(b -> parts.add("base " + b));
        return String.join(" · ", parts);
    }

    private static void add(List<String> parts, String label, OptionalInt v) {
        if (v.isPresent()) {
            parts.add(label + v.getAsInt());
        }
    }

    private static String fileName(Checkpoint c, TensorFile f) {
        Path p = f.path();
        return p.startsWith(c.directory()) ? c.directory().relativize(p).toString() : p.toString();
    }

    private record Totals(long parameters, long bytes, Map<Dtype, Long> bytesPerDtype) {

        static Totals of(Checkpoint c) {
            long params = 0;
            long bytes = 0;
            Map<Dtype, Long> perDtype = new EnumMap<>(Dtype.class);
            for (StoredTensor t : c.tensors().values()) {
                params += t.shape().elementCount();
                bytes += t.byteSize();
                perDtype.merge(t.dtype(), t.byteSize(), Long::sum);
            }
            return new Totals(params, bytes, perDtype);
        }
    }
}
