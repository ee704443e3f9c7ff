/** The Fusebox engine: safetensors I/O, the checkpoint model, rules, plans, LoRA, the forward pass and the CLI. */
module dev.fusebox.converter {
    requires transitive com.fasterxml.jackson.databind;
    requires info.picocli;
    requires jdk.management;
    // Optional at run time: the launcher and the tests add it; without it the forward pass uses scalar loops.
    requires static jdk.incubator.vector;
    // @Nullable marks where the engine uses null on purpose; NullAway checks the rest at compile time.
    requires static transitive org.jspecify;

    // What the view models and the app build on: the model of a checkpoint, conversions, plans, LoRA, the
    // forward pass, and the figures as text.
    exports dev.fusebox.converter;
    exports dev.fusebox.converter.checkpoint;
    exports dev.fusebox.converter.tree;
    exports dev.fusebox.converter.text;
    exports dev.fusebox.converter.progress;
    exports dev.fusebox.converter.tensor;
    exports dev.fusebox.converter.rules;
    exports dev.fusebox.converter.plan;
    exports dev.fusebox.converter.convert;
    exports dev.fusebox.converter.lora;
    exports dev.fusebox.converter.forward;
    // The command line is the app's second face: its process entry point starts it.
    exports dev.fusebox.converter.cli to dev.fusebox.app;
    // Not exported: the file formats (safetensors, torchzip) are read through tensor.TensorFile and
    // checkpoint.Checkpoint, and sample serves the CLI's sample command only.

    opens dev.fusebox.converter.cli to info.picocli;
    opens dev.fusebox.converter.tree to com.fasterxml.jackson.databind;
}
