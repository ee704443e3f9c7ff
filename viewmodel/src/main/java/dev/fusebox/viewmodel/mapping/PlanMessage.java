package dev.fusebox.viewmodel.mapping;

/**
 * Something the mapping screen says above its table: why a checkpoint cannot be converted (a refusal), or what a
 * user should know before converting (a warning).
 */
public record PlanMessage(Kind kind, String text) {

    public enum Kind { REFUSAL, WARNING }
}
