package dev.fusebox.app;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FileReader;
import java.io.FileWriter;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/** The views' boundaries, checked on their compiled classes: data flows one way, engine → view models → views. */
class ViewBoundariesTest {

    /** What {@link Files} does to a file's contents or to the tree; asking whether a path is a folder is not it. */
    private static final Pattern READS_OR_WRITES = Pattern.compile(
            "read.*|write.*|new.*|lines|copy|move|delete.*|create.*|walk|list|find|size|mismatch|getAttribute|set.*");

    private static JavaClasses app;

    @BeforeAll
    static void importApp() {
        app = new ClassFileImporter().importPath(Path.of("target/classes"));
    }

    @Test
    void viewsReadNoFiles() {
        noClasses().that().resideInAPackage("dev.fusebox.app.(*)..")
                .and().resideOutsideOfPackage("dev.fusebox.app.sample..")
                .should().dependOnClassesThat().belongToAnyOf(FileInputStream.class, FileOutputStream.class,
                        FileReader.class, FileWriter.class, RandomAccessFile.class, FileChannel.class)
                .orShould().callMethodWhere(DescribedPredicate.describe("Files reads or writes",
                        (JavaMethodCall call) -> call.getTargetOwner().isEquivalentTo(Files.class)
                                && READS_OR_WRITES.matcher(call.getName()).matches()))
                .because("a view shows what its view model holds; reading a checkpoint, a rule file or a"
                        + " setting belongs in the engine or the view model, where it runs off the FX thread and is"
                        + " tested without a screen (the sample, copied out of the app's resources, is no view)")
                .check(app);
    }
}
