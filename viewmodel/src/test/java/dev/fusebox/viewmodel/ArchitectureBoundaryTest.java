package dev.fusebox.viewmodel;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Data flows one way (DESIGN.md §2): the converter knows no JavaFX, the view models no scene graph or controls. */
class ArchitectureBoundaryTest {

    private static final Pattern VIEW_IMPORTS = Pattern.compile(
            "^\\s*(import|requires)\\s+(static\\s+)?(transitive\\s+)?"
                    + "(javafx\\.scene|javafx\\.stage|javafx\\.application|javafx\\.controls|javafx\\.fxml|org\\.controlsfx|org\\.kordamp)",
            Pattern.MULTILINE);
    private static final Pattern ANY_JAVAFX = Pattern.compile(
            "^\\s*(import|requires)\\s+(static\\s+)?(transitive\\s+)?javafx", Pattern.MULTILINE);

    @Test
    void viewModelsUseNoSceneGraphControlsOrIcons() throws IOException {
        assertThat(offenders(Path.of("src/main/java"), VIEW_IMPORTS)).isEmpty();
    }

    @Test
    void theConverterKnowsNoJavaFx() throws IOException {
        Path converter = Path.of("../converter/src/main/java");
        assertThat(Files.isDirectory(converter)).isTrue();
        assertThat(offenders(converter, ANY_JAVAFX)).isEmpty();
    }

    private static List<String> offenders(Path root, Pattern forbidden) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                var m = forbidden.matcher(Files.readString(f));
                while (m.find()) {
                    out.add(f + ": " + m.group().strip());
                }
            }
        }
        return out;
    }
}
