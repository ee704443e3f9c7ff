package dev.fusebox.viewmodel.main;

/** The screens of the main window, in tab order. */
public enum Screen {
    MODEL("Model"),
    MAPPING("Mapping"),
    CONVERT("Convert"),
    VERIFY("Verify"),
    DIFF("Diff");

    private final String label;

    Screen(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
