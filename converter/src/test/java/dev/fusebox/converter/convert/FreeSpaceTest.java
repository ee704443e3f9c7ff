package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.assertThatCode;

class FreeSpaceTest {

    @TempDir
    Path dir;

    @Test
    void moreThanTheFileSystemHoldsIsRefusedSayingHowMuchIsNeeded() throws Exception {
        long free = Files.getFileStore(dir).getUsableSpace();
        long asked = free + (1L << 40);
        assertThatThrownBy(() -> FreeSpace.require(dir.resolve("not/yet/made"), asked, "the conversion"))
                .isInstanceOfSatisfying(FuseboxException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.IO_ERROR);
                    assertThat(e.getMessage()).contains("the conversion needs " + FreeSpace.size(asked)
                            + " free there");
                });
    }

    @Test
    void whatFitsPasses() {
        assertThatCode(() -> FreeSpace.require(dir, 1 << 20, "the conversion")).doesNotThrowAnyException();
    }
}
