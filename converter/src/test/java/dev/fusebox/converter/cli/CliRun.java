package dev.fusebox.converter.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One run of the command line, captured. */
record CliRun(int exitCode, String out, String err, List<List<Path>> guiCalls) {

    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<List<Path>> gui = new ArrayList<>();
        int code = Cli.run(args, new PrintWriter(out), new PrintWriter(err), paths -> {
            gui.add(paths);
            return 0;
        });
        return new CliRun(code, out.toString(), err.toString(), gui);
    }

    List<String> errLines() {
        return err.lines().toList();
    }
}
