package dev.fusebox.converter.cli;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class VersionTest {

    @Test
    void versionPrintsTheModuleVersionTheBuildSetFromThePom() {
        CliRun run = CliRun.of("--version");
        assertThat(run.exitCode()).isZero();
        assertThat(run.out().strip()).matches("fusebox \\d+\\.\\d+\\.\\d+\\S*");
    }
}
