package dev.fusebox.viewmodel.host;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.rules.RuleBook;

/** The conversion rules to open checkpoints with: the app reads the bundled and the user's, tests the bundled. */
@FunctionalInterface
public interface RulesSource {

    RuleBook load() throws FuseboxException;
}
