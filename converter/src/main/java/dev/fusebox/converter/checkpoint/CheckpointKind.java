package dev.fusebox.converter.checkpoint;

/** Whether a checkpoint holds a model's weights or a PEFT adapter. */
public enum CheckpointKind {
    MODEL("model"),
    ADAPTER("adapter");

    private final String jsonName;

    CheckpointKind(String jsonName) {
        this.jsonName = jsonName;
    }

    /** The name used in JSON output. */
    public String jsonName() {
        return jsonName;
    }
}
