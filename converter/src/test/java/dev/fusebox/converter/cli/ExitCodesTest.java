package dev.fusebox.converter.cli;

import dev.fusebox.converter.TestCheckpoints;
import dev.fusebox.converter.rules.RuleBook;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.fusebox.converter.TestCheckpoints.f32;
import static org.assertj.core.api.Assertions.assertThat;

/** Exit 2 is the input's fault, exit 3 Fusebox's own; the CLI adds its flags to the engine's flag-free sentences. */
class ExitCodesTest {

    @TempDir
    Path dir;

    @Test
    void anUnexpectedExceptionIsABugWithExitThree() {
        Run run = run(false);
        assertThat(run.code).isEqualTo(Cli.BUG).isEqualTo(3);
        assertThat(run.err.lines().toList()).containsExactly("fusebox: this is a bug in Fusebox, not a problem with "
                + "the input: java.lang.IllegalStateException: the window system is gone. Run the command again with "
                + "--debug for the stack trace to report.");
    }

    @Test
    void debugPrintsTheBugsStackTrace() {
        Run run = run(true);
        assertThat(run.code).isEqualTo(Cli.BUG);
        assertThat(run.err).startsWith("fusebox: this is a bug in Fusebox, not a problem with the input: "
                        + "java.lang.IllegalStateException: the window system is gone.\n")
                .contains("java.lang.IllegalStateException: the window system is gone\n")
                .containsPattern("\\n\\tat (\\S+/)?dev\\.fusebox\\.converter\\.cli\\.GuiCommand\\.call\\(GuiCommand\\.java:")
                .doesNotContain("\\t")
                .doesNotContain("Run the command again");
    }

    @Test
    void theCommandLineNamesItsRulesOptionWhereTheEngineSaysARuleFileWouldHelp() throws Exception {
        Path ckpt = TestCheckpoints.write(dir.resolve("llama"), "llama", Map.of(),
                List.of(f32("model.layers.0.mlp.up_proj.weight", 4, 4)));
        CliRun run = CliRun.of("plan", ckpt.toString());
        assertThat(run.exitCode()).isEqualTo(Cli.BAD_INPUT);
        assertThat(run.errLines()).containsExactly("fusebox: " + ckpt + ": has the model type 'llama', for which "
                + "Fusebox has no conversion rules; add a rule file to " + RuleBook.userDirectory()
                + " (or name one with --rules FILE).");
    }

    private record Run(int code, String err) {
    }

    private static Run run(boolean debug) {
        StringWriter err = new StringWriter();
        String[] args = debug ? new String[] {"gui", "--debug"} : new String[] {"gui"};
        int code = Cli.run(args, new PrintWriter(new StringWriter()), new PrintWriter(err), paths -> {
            throw new IllegalStateException("the window system is gone");
        });
        return new Run(code, err.toString());
    }
}
