package dev.fusebox.converter.cli;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.checkpoint.Layout;
import dev.fusebox.converter.rules.RuleBook;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The options every converting command shares: the layout to convert to and extra rule files. */
final class RuleOptions {

    @Option(names = "--to", paramLabel = "v5|legacy",
            description = "The layout to convert to (default: the other one from the layout detected).")
    private String to;

    @Option(names = "--rules", paramLabel = "FILE",
            description = "An extra rule file (JSON, as in ~/.config/fusebox/rules); may be repeated.")
    private List<Path> ruleFiles = new ArrayList<>();

    /** The bundled rules, the user's rule folder, then the files given. */
    RuleBook ruleBook() throws FuseboxException {
        return RuleBook.installed().withFiles(ruleFiles);
    }

    /** The layout asked for, when one was. */
    Optional<Layout> target() throws FuseboxException {
        if (to == null) {
            return Optional.empty();
        }
        return switch (to.toLowerCase(Locale.ROOT)) {
            case "v5" -> Optional.of(Layout.V5);
            case "legacy" -> Optional.of(Layout.LEGACY);
            default -> throw new FuseboxException(Problem.UNSUPPORTED, null, "--to takes v5 or legacy, not '" + to
                    + "'");
        };
    }
}
