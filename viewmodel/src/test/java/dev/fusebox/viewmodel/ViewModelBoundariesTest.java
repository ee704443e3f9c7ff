package dev.fusebox.viewmodel;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The view models' boundaries, checked on their compiled classes, so a fully-qualified name counts as much as an
 * import: data flows one way, engine → view models → views.
 */
class ViewModelBoundariesTest {

    private static JavaClasses viewModels;

    @BeforeAll
    static void importViewModels() {
        viewModels = new ClassFileImporter().importPath(Path.of("target/classes"));
    }

    @Test
    void noSceneGraphControlsOrIcons() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage(
                        "javafx.scene..", "javafx.stage..", "javafx.application..", "javafx.fxml..",
                        "org.controlsfx..", "org.kordamp..")
                .because("view models hold what the screens show as javafx.base properties and run their work as"
                        + " javafx.concurrent tasks, so every one of them runs and is tested without a screen")
                .check(viewModels);
    }

    @Test
    void noCommandLine() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage("dev.fusebox.converter.cli..", "picocli..")
                .because("the screens do what the CLI does through the engine, not through the CLI's commands")
                .check(viewModels);
    }

    @Test
    void noPackageCycles() {
        slices().matching("dev.fusebox.viewmodel.(*)..").should().beFreeOfCycles()
                .because("each screen's view model must be understood and changed without the others it uses")
                .check(viewModels);
    }
}
