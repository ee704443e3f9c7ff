package dev.fusebox.converter.plan;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.Remedy;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.checkpoint.LayoutDetector;
import dev.fusebox.converter.rules.RuleSet;
import dev.fusebox.converter.rules.ShapeReading;

import java.nio.file.Path;
import java.util.List;

/**
 * The layout a checkpoint is in, as the planner needs it: decided from what the family's rules see, or refused
 * with what the user can do. Where shapes tell the layout, a tensor whose shape fits neither layout is refused, and
 * one whose shape fits both follows the tensors that do tell (a 4.x checkpoint stores all its expert tensors
 * transposed), with a warning; when none tells, it is refused, since {@code --to} names the layout to write, not
 * the one the checkpoint is in.
 *
 * @param warnings what the user should know about the decision, one sentence each
 */
record SourceLayout(Layout layout, List<String> warnings) {

    SourceLayout {
        warnings = List.copyOf(warnings);
    }

    /** The layout {@code evidence} shows; {@code hasConfig} tells whether config.json exists, for messages. */
    static SourceLayout of(Path file, RuleSet rules, RuleSet.Evidence evidence, boolean hasConfig)
            throws FuseboxException {
        String family = "the " + rules.family() + " rules";
        if (evidence.misfit().isPresent()) {
            switch (evidence.misfit().get()) {
                case ShapeReading.Neither n -> throw new FuseboxException(Problem.SHAPE_MISMATCH, file, n.key(),
                        "its shape is " + n.shape() + ", but config.json makes it " + n.v5() + " in the v5 layout or "
                                + n.legacy() + " in the legacy one (" + family + " give its v5 shape as "
                                + n.expected().v5() + "); the layout is told by that shape, so check that config.json "
                                + "belongs to these weights");
                case ShapeReading.Unresolved u -> throw new FuseboxException(hasConfig ? Problem.INVALID_CONFIG
                        : Problem.UNSUPPORTED, file, u.key(), family + " tell its layout by its shape, "
                        + u.expected().v5() + " in the v5 layout or " + u.expected().legacy()
                        + " in the legacy one in config.json's terms, but " + u.why());
            }
        }
        Layout from = LayoutDetector.fromEvidence(evidence);
        if (from == Layout.UNKNOWN) {
            if (evidence.legacyKey().isPresent()) {
                throw new FuseboxException(Problem.MIXED_LAYOUT, file, "holds keys of both layouts under "
                        + family + ": '" + evidence.legacyKey().get() + "' (legacy) and '"
                        + evidence.v5Key().orElseThrow() + "' (v5); it may be half converted");
            }
            if (evidence.square().isPresent()) {
                ShapeReading.Both b = evidence.square().get();
                throw new FuseboxException(Problem.AMBIGUOUS_LAYOUT, file, b.key(), "its shape " + b.shape()
                        + " is the same in the legacy layout (" + b.expected().legacy() + ") and the v5 one ("
                        + b.expected().v5() + "), and no other tensor's shape tells which this checkpoint is in; "
                        + "the layout asked for is the one to write, not the one it is in, so it cannot decide: open "
                        + "the whole checkpoint (all its shards), whose tensors of other shapes tell the layout");
            }
            throw new FuseboxException(Problem.MIXED_LAYOUT, file, "has no key that " + family
                    + " convert in either direction; nothing to convert");
        }
        String decider = example(evidence, from);
        List<String> warnings = evidence.square().map(b -> List.of("'" + b.key() + "' has the shape " + b.shape()
                + " in both layouts (legacy " + b.expected().legacy() + ", v5 " + b.expected().v5() + "), as may "
                + "others like it; it is read as " + from.jsonName() + ", as '" + decider + "' shows"
                + (from == Layout.LEGACY ? " (transformers would load it untransposed: its check compares shapes "
                + "only)" : ""))).orElse(List.of());
        return new SourceLayout(from, warnings);
    }

    /** The key that shows the layout, for messages. */
    static String example(RuleSet.Evidence evidence, Layout layout) {
        return (layout == Layout.V5 ? evidence.v5Key() : evidence.legacyKey()).orElseThrow();
    }
}
