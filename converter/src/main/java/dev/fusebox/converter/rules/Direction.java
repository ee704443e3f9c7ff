package dev.fusebox.converter.rules;

/** Which way a rule runs: as written (legacy keys to v5 keys) or inverted (v5 back to legacy). */
public enum Direction {
    TO_V5,
    TO_LEGACY;

    public Direction opposite() {
        return this == TO_V5 ? TO_LEGACY : TO_V5;
    }
}
