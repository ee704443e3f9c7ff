package dev.fusebox.converter.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/** The command line as its own process, for tests that kill or interrupt a running command. */
public final class CliMain {

    private CliMain() {
    }

    public static void main(String[] args) {
        int code = Cli.run(args, new PrintWriter(System.out, true, StandardCharsets.UTF_8),
                new PrintWriter(System.err, true, StandardCharsets.UTF_8), paths -> 2);
        System.exit(code);
    }
}
