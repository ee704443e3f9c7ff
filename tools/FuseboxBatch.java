import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fusebox.converter.cli.Cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Runs many Fusebox CLI commands in one JVM, for dev-time tools that call the CLI hundreds of times
 * (tools/oracle-lora.py): each line on stdin is a JSON array of a command's arguments; each answer on stdout is one
 * JSON line {"rc", "out", "err"}, what `./fusebox ARGS...` would exit with and print. The commands run through the
 * same Cli.run as the launcher's; only the JVM's start-up is shared. Dev-time only, not part of the build:
 *
 *     java -p app/target/lib --add-modules dev.fusebox.converter \
 *         --add-exports dev.fusebox.converter/dev.fusebox.converter.cli=ALL-UNNAMED tools/FuseboxBatch.java
 */
public final class FuseboxBatch {

    private FuseboxBatch() {
    }

    public static void main(String[] ignored) throws Exception {
        ObjectMapper json = new ObjectMapper();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintWriter answers = new PrintWriter(System.out, false, StandardCharsets.UTF_8);
        for (String line; (line = in.readLine()) != null; ) {
            String[] args = json.readValue(line, String[].class);
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int rc = Cli.run(args, new PrintWriter(out), new PrintWriter(err, true), paths -> Cli.BAD_INPUT);
            answers.println(json.writeValueAsString(Map.of("rc", rc, "out", out.toString(), "err", err.toString())));
            answers.flush();
        }
    }
}
