package dev.fusebox.converter.plan;

import java.util.Optional;

/** Where a source tensor goes: the target it feeds and, for a copy, the placement that says exactly where. */
public record SourceUse(PlannedTarget target, Optional<Placement> placement) {
}
