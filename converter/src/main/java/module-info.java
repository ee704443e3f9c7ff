/** The Fusebox engine: safetensors I/O, the checkpoint model, rules, plans, LoRA, the forward pass and the CLI. */
module dev.fusebox.converter {
    requires transitive com.fasterxml.jackson.databind;
    requires info.picocli;
    requires jdk.management;
    // Optional at run time: the launcher and the tests add it; without it the forward pass uses scalar loops.
    requires static jdk.incubator.vector;

    exports dev.fusebox.converter;
    exports dev.fusebox.converter.safetensors;
    exports dev.fusebox.converter.checkpoint;
    exports dev.fusebox.converter.tree;
    exports dev.fusebox.converter.text;
    exports dev.fusebox.converter.cli;
    exports dev.fusebox.converter.progress;
    exports dev.fusebox.converter.tensor;
    exports dev.fusebox.converter.torchzip;
    exports dev.fusebox.converter.rules;
    exports dev.fusebox.converter.plan;
    exports dev.fusebox.converter.convert;
    exports dev.fusebox.converter.lora;
    exports dev.fusebox.converter.forward;
    exports dev.fusebox.converter.sample;

    opens dev.fusebox.converter.cli to info.picocli;
    opens dev.fusebox.converter.tree to com.fasterxml.jackson.databind;
}
