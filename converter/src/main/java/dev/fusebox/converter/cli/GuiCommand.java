package dev.fusebox.converter.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "gui", description = "Open the desktop app on PATHs (on the bundled sample when none is given).")
final class GuiCommand implements Callable<Integer> {

    private final GuiStarter starter;

    @Parameters(paramLabel = "PATH", arity = "0..*",
            description = "Checkpoints or adapters to open (paths, or ORG/NAME[@REV] in the Hugging Face cache).")
    private List<Path> paths = new ArrayList<>();

    GuiCommand(GuiStarter starter) {
        this.starter = starter;
    }

    @Override
    public Integer call() {
        return starter.start(List.copyOf(paths));
    }
}
