package dev.fusebox.converter.cli;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.TerminalText;
import dev.fusebox.converter.rules.RunawayPatternException;
import picocli.CommandLine;
import picocli.CommandLine.HelpCommand;

import java.io.PrintWriter;
import java.util.Arrays;

/**
 * The command line: parses arguments, runs one command, and turns every failure into an exit code and one
 * sentence on standard error (0 success, 1 a check failed, 2 bad input or usage, 3 a bug in Fusebox; stack traces
 * with --debug).
 */
public final class Cli {

    public static final int OK = 0;
    public static final int CHECK_FAILED = 1;
    public static final int BAD_INPUT = 2;
    /** An exception no one expected: not the input's fault, so not reported as if it were. */
    public static final int BUG = 3;

    private Cli() {
    }

    /** Runs {@code args}; with no arguments, opens the GUI on the bundled sample. */
    public static int run(String[] args, PrintWriter rawOut, PrintWriter rawErr, GuiStarter gui) {
        // Names from files reach both streams; only the line breaks (and the progress line's return) pass as they
        // are, the error sentence escapes even those.
        PrintWriter out = TerminalText.printer(rawOut, "\n", false);
        PrintWriter err = TerminalText.printer(rawErr, "\n\r", true);
        String[] effective = args.length == 0 ? new String[] {"gui"} : args;
        boolean debug = Arrays.asList(effective).contains("--debug");
        CommandLine cl = commandLine(gui);
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            String help = ex.getCommandLine().getCommandSpec().qualifiedName();
            err.println("fusebox: " + sentence(ex.getMessage()) + " (see '" + help + " --help')");
            err.flush();
            return BAD_INPUT;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            int code = BAD_INPUT;
            if (ex instanceof FuseboxException fe) {
                err.println("fusebox: " + sentence(fe.getMessage() + fe.remedy().map(OptionHints::of).orElse("")));
            } else if (ex instanceof RunawayPatternException runaway) {
                // A rule's pattern that gave up on a key, thrown from deep in key matching: the rule file's fault.
                err.println("fusebox: " + sentence(runaway.getMessage()));
            } else {
                // An IllegalArgumentException too: the engine reports every input's fault as a FuseboxException, so
                // a broken precondition is Fusebox's own.
                code = BUG;
                err.println("fusebox: this is a bug in Fusebox, not a problem with the input: " + sentence(
                        ex.toString()) + (debug ? "" : " Run the command again with --debug for the stack trace"
                        + " to report."));
            }
            if (debug) {
                // A stack trace's frames are indented with tabs; names from files in its messages stay escaped.
                err.flush();
                PrintWriter trace = TerminalText.printer(rawErr, "\n\t", false);
                ex.printStackTrace(trace);
                trace.flush();
            }
            err.flush();
            return code;
        });
        int code = cl.execute(effective);
        out.flush();
        err.flush();
        rawOut.flush();
        rawErr.flush();
        return code;
    }

    /** The command tree, with every subcommand. */
    static CommandLine commandLine(GuiStarter gui) {
        CommandLine cl = new CommandLine(new FuseboxCommand());
        cl.addSubcommand(new GuiCommand(gui));
        cl.addSubcommand(new InspectCommand());
        cl.addSubcommand(new PlanCommand());
        cl.addSubcommand(new ConvertCommand());
        cl.addSubcommand(new DiffCommand());
        cl.addSubcommand(new VerifyCommand());
        cl.addSubcommand(new SampleCommand());
        cl.addSubcommand(new HelpCommand());
        return cl;
    }

    /** One line: a name holding a line break or an escape sequence is printed with it escaped. */
    private static String sentence(String message) {
        String m = TerminalText.escape(message == null ? "failed" : message.strip());
        return m.endsWith(".") ? m : m + ".";
    }
}
