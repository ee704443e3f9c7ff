package dev.fusebox.converter;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/** The engine's boundaries, checked on its compiled classes: data flows one way, engine → view models → views. */
class EngineBoundariesTest {

    private static JavaClasses engine;

    @BeforeAll
    static void importEngine() {
        engine = new ClassFileImporter().importPath(Path.of("target/classes"));
    }

    @Test
    void noPackageCycles() {
        slices().matching("dev.fusebox.converter.(*)..").should().beFreeOfCycles()
                .because("each package of the engine must be understood, tested and changed from the ones below it"
                        + " alone; a cycle makes two packages one")
                .check(engine);
    }

    @Test
    void noJavaFx() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage("javafx..", "org.controlsfx..", "org.kordamp..")
                .because("the engine runs headless, in the CLI and in tests; the screens sit on top of it")
                .check(engine);
    }

    @Test
    void picocliOnlyInTheCommandLine() {
        noClasses().that().resideOutsideOfPackage("dev.fusebox.converter.cli..")
                .should().dependOnClassesThat().resideInAPackage("picocli..")
                .because("the engine's operations are the same for the app and the CLI; flags are the CLI's business")
                .check(engine);
    }

    @Test
    void onlyTheCommandLineUsesTheCommandLine() {
        noClasses().that().resideOutsideOfPackage("dev.fusebox.converter.cli..")
                .should().dependOnClassesThat().resideInAPackage("dev.fusebox.converter.cli..")
                .because("the engine is used by the CLI and the app alike, so nothing in it may lean on the CLI")
                .check(engine);
    }
}
