package dev.fusebox.converter.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The top of the command tree: global options only; every action is a subcommand. Its scope passes --help and
 * --version on to every subcommand, so {@code fusebox convert --help} shows that command's help.
 */
@Command(name = "fusebox", scope = ScopeType.INHERIT, mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Inspect, convert and verify Mixture-of-Experts checkpoints and LoRA adapters across the "
                + "transformers v5 fused-expert change.",
                "",
                "Exit codes: 0 success, 1 a check failed, 2 bad input or usage."},
        commandListHeading = "%nCommands:%n")
final class FuseboxCommand {

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print stack traces with errors.")
    boolean debug;
}
