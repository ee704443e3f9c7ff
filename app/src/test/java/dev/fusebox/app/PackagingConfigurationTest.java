package dev.fusebox.app;

import javafx.application.Application;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleFinder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks packaging/ and app/java-options against the code they describe, so a rename or a typo fails the test
 * suite instead of the next `./fusebox package` or the installed app (which runs no jlink here).
 */
class PackagingConfigurationTest {

    /** Surefire runs a module's tests with {@code basedir} set to it; the repository root is one level up. */
    private static final Path ROOT = Path.of(System.getProperty("basedir")).toAbsolutePath().getParent();
    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private static final Pattern MODULE_OPTION =
            Pattern.compile("--(enable-native-access|add-modules|add-opens|add-exports|add-reads)=(.+)");

    @Test
    void theDesktopEntryClaimsTheWindowsOfTheAppsJavaFxApplicationClass() throws Exception {
        // JavaFX names the X11 window class after the Application subclass; docks match it to StartupWMClass.
        // The menu's entry belongs to the launcher package.sh adds for the GUI (with the Vector API); the main,
        // command-line launcher's entry, which jpackage makes too, is hidden.
        Map<String, String> entry = desktopEntry(ROOT.resolve("packaging/linux/Fusebox-desktop.desktop"));
        Class<?> windowClass = Class.forName(entry.get("StartupWMClass"));
        assertThat(Application.class).isAssignableFrom(windowClass);
        assertThat(entry.get("Exec")).isEqualTo("APPLICATION_LAUNCHER gui %F");
        assertThat(entry).containsEntry("Type", "Application").containsKeys("Name", "Icon", "Categories")
                .doesNotContainKey("NoDisplay");
        assertThat(desktopEntry(ROOT.resolve("packaging/linux/Fusebox.desktop"))).containsEntry("NoDisplay", "true");
    }

    @Test
    void theIconComesAsAPngInEverySizeDesktopsLookUp() throws IOException {
        Path icons = ROOT.resolve("packaging/icons");
        assertThat(icons.resolve("fusebox.svg")).isRegularFile();
        for (int size : new int[] {16, 24, 32, 48, 64, 128, 256, 512}) {
            assertThat(pngSize(icons.resolve("fusebox-" + size + ".png"))).as("fusebox-%d.png", size)
                    .containsExactly(size, size);
        }
    }

    @Test
    void theJavaOptionsNameOnlyModulesThatExist() throws IOException {
        List<String> options = javaOptions(ROOT.resolve("app/java-options"));
        // One option per line as --name=value: java reads the file as an @argfile, jpackage gets each line whole.
        assertThat(options).isNotEmpty().allMatch(o -> o.matches("-\\S+"), "a single --name=value word");
        ModuleFinder system = ModuleFinder.ofSystem();
        for (String option : options) {
            Matcher m = MODULE_OPTION.matcher(option);
            if (!m.matches()) {
                continue;
            }
            for (String module : modulesIn(m.group(1), m.group(2))) {
                boolean exists = ModuleLayer.boot().findModule(module).isPresent() || system.find(module).isPresent();
                assertThat(exists).as("module %s named by '%s'", module, option).isTrue();
            }
        }
    }

    private static Map<String, String> desktopEntry(Path file) throws IOException {
        return Files.readAllLines(file).stream()
                .filter(line -> line.contains("=") && !line.startsWith("#"))
                .map(line -> line.split("=", 2))
                .collect(Collectors.toMap(kv -> kv[0], kv -> kv[1]));
    }

    private static int[] pngSize(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file); DataInputStream data = new DataInputStream(in)) {
            byte[] signature = data.readNBytes(PNG_SIGNATURE.length);
            assertThat(signature).as("%s is a PNG", file.getFileName()).isEqualTo(PNG_SIGNATURE);
            data.readInt();
            assertThat(new String(data.readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("IHDR");
            return new int[] {data.readInt(), data.readInt()};
        }
    }

    private static List<String> javaOptions(Path file) throws IOException {
        return Files.readAllLines(file).stream()
                .map(line -> line.replaceFirst("#.*", "").strip())
                .filter(line -> !line.isEmpty())
                .toList();
    }

    /** The modules an option names: {@code M1,M2}, {@code M=T1,T2} or {@code M/package=T1,T2}. */
    private static List<String> modulesIn(String option, String value) {
        List<String> names = new ArrayList<>();
        String[] sides = value.split("=", 2);
        switch (option) {
            case "add-opens", "add-exports" -> {
                names.add(sides[0].substring(0, sides[0].indexOf('/')));
                names.addAll(List.of(sides[1].split(",")));
            }
            case "add-reads" -> {
                names.add(sides[0]);
                names.addAll(List.of(sides[1].split(",")));
            }
            default -> names.addAll(List.of(value.split(",")));
        }
        return names.stream().filter(name -> !name.startsWith("ALL-")).toList();
    }
}
