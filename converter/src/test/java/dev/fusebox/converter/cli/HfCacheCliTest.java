package dev.fusebox.converter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.fusebox.converter.FakeHfCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ORG/NAME} on the command line is found where huggingface_hub puts it, through the environment (a process of
 * its own, since a test cannot set its own environment), and named by its id in the output.
 */
class HfCacheCliTest {

    @TempDir
    Path tmp;

    @Test
    void aModelIdIsInspectedAndConvertedFromTheCacheHfHubCacheNames() throws Exception {
        FakeHfCache fake = new FakeHfCache(Files.createDirectory(tmp.resolve("hub")));
        fake.addSharded(FakeHfCache.REPO_ID, true, tmp);
        Path work = Files.createDirectory(tmp.resolve("work"));

        Result inspect = run(work, fake.root(), "inspect", "--json", FakeHfCache.REPO_ID);
        assertThat(inspect.code()).as(inspect.err()).isZero();
        JsonNode report = JsonMapper.builder().build().readTree(inspect.out());
        assertThat(report.get("model_id").asText()).isEqualTo(FakeHfCache.REPO_ID);
        assertThat(report.get("revision").asText()).isEqualTo(FakeHfCache.SHARDED_REVISION);
        assertThat(report.get("files")).hasSize(2);

        Result convert = run(work, fake.root(), "convert", FakeHfCache.REPO_ID + "@main", "out");
        assertThat(convert.code()).as(convert.err()).isZero();
        assertThat(Files.isRegularFile(work.resolve("out/tokenizer.json"), LinkOption.NOFOLLOW_LINKS)).isTrue();
    }

    private record Result(int code, String out, String err) {
    }

    private Result run(Path workingDirectory, Path cache, String... args) throws Exception {
        List<String> cp = new ArrayList<>();
        for (String property : List.of("jdk.module.path", "java.class.path")) {
            String v = System.getProperty(property);
            if (v != null && !v.isEmpty()) {
                cp.add(v);
            }
        }
        cp.add(Path.of(CliMain.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "-cp", String.join(File.pathSeparator, cp), CliMain.class.getName()));
        command.addAll(List.of(args));
        Path out = tmp.resolve("stdout.txt");
        Path err = tmp.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(command).directory(workingDirectory.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("HF_HUB_CACHE", cache.toString());
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the command finished").isTrue();
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }
}
