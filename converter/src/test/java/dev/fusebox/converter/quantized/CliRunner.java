package dev.fusebox.converter.quantized;

import dev.fusebox.converter.cli.Cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One run of the command line from this package, its output captured (the GUI never starts). */
final class CliRunner {

    record Run(int exitCode, String out, String err) {
    }

    private CliRunner() {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Cli.run(args, new PrintWriter(out), new PrintWriter(err), paths -> 2);
        return new Run(code, out.toString(), err.toString());
    }
}
