package dev.fusebox.app;

import dev.fusebox.converter.cli.Cli;
import javafx.application.Application;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The process entry point: the GUI with no arguments or with {@code gui}, the command line otherwise. */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out),
                StandardCharsets.UTF_8), false);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.err),
                StandardCharsets.UTF_8), true);
        int code = Cli.run(args, out, err, paths -> startGui(paths, err));
        System.exit(code);
    }

    private static int startGui(List<Path> paths, PrintWriter err) {
        if (!hasDisplay()) {
            err.println("fusebox: there is no display to open the window on (DISPLAY is not set); "
                    + "use a command such as 'fusebox inspect PATH', or see 'fusebox --help'.");
            return Cli.BAD_INPUT;
        }
        Application.launch(FuseboxApp.class, paths.stream().map(Path::toString).toArray(String[]::new));
        return Cli.OK;
    }

    static boolean hasDisplay() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.contains("win") || os.contains("mac")) {
            return true;
        }
        if ("Headless".equals(System.getProperty("glass.platform"))) {
            return true;
        }
        return !isBlank(System.getenv("DISPLAY")) || !isBlank(System.getenv("WAYLAND_DISPLAY"));
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
