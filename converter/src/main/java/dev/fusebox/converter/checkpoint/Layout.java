package dev.fusebox.converter.checkpoint;

/** Which side of the transformers v5 change a checkpoint's keys are on. */
public enum Layout {
    /** Per-expert modules, as transformers 4.x writes them. */
    LEGACY("legacy"),
    /** Fused expert tensors, as transformers v5 holds them. */
    V5("v5"),
    /** Neither, both, or no experts at all. */
    UNKNOWN("unknown");

    private final String jsonName;

    Layout(String jsonName) {
        this.jsonName = jsonName;
    }

    /** The name used in JSON output and on the command line. */
    public String jsonName() {
        return jsonName;
    }

    /** The layout a conversion goes to by default: the other one. */
    public Layout other() {
        return switch (this) {
            case LEGACY -> V5;
            case V5 -> LEGACY;
            case UNKNOWN -> UNKNOWN;
        };
    }
}
