package dev.fusebox.converter.cli;

import picocli.CommandLine.IVersionProvider;

import java.lang.module.ModuleDescriptor;

/**
 * The version of this module, which the build sets from the POM and jlink keeps (a linked runtime has no jar
 * manifests to read); "development" when run from plain classes.
 */
final class Version implements IVersionProvider {

    static String current() {
        ModuleDescriptor descriptor = Version.class.getModule().getDescriptor();
        return descriptor == null ? "development" : descriptor.rawVersion().orElse("development");
    }

    @Override
    public String[] getVersion() {
        return new String[] {"fusebox " + current()};
    }
}
