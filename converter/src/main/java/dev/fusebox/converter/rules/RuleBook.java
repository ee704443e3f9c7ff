package dev.fusebox.converter.rules;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.UserDirectories;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Every family's rules Fusebox knows: the bundled rule files (one per family, listed in {@code families.txt}), then
 * the user's ({@code ~/.config/fusebox/rules/*.json}, in name order), then files given with {@code --rules}. A later
 * file that names a model type takes it over from an earlier one.
 */
public final class RuleBook {

    /** A rule file is a few kilobytes; one larger than this is refused rather than read. */
    public static final int MAX_RULE_FILE_BYTES = 1 << 20;

    private static final String RESOURCE_DIR = "/dev/fusebox/converter/rules/";
    private static volatile RuleBook bundled;

    private final List<RuleSet> ruleSets;

    private RuleBook(List<RuleSet> ruleSets) {
        this.ruleSets = List.copyOf(ruleSets);
    }

    /** The rules that ship with Fusebox. */
    public static RuleBook bundled() {
        RuleBook b = bundled;
        if (b == null) {
            try {
                b = readBundled();
            } catch (FuseboxException e) {
                throw new IllegalStateException("a bundled rule file is broken: " + e.getMessage(), e);
            }
            bundled = b;
        }
        return b;
    }

    /** The bundled rules and the user's rule folder, {@link #userDirectory()}. */
    public static RuleBook installed() throws FuseboxException {
        return installed(userDirectory());
    }

    /** The bundled rules and every {@code *.json} in {@code directory} (which may be absent). */
    public static RuleBook installed(Path directory) throws FuseboxException {
        if (!Files.isDirectory(directory)) {
            return bundled();
        }
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(directory, "*.json")) {
            for (Path p : s) {
                if (Files.isRegularFile(p)) {
                    files.add(p);
                }
            }
        } catch (IOException e) {
            throw new FuseboxException(Problem.IO_ERROR, directory, "could not be listed (" + IoReason.of(e) + ")", e);
        }
        files.sort(null);
        return bundled().withFiles(files);
    }

    /**
     * Where a user drops extra rule files: {@code rules} in the user's Fusebox folder, by default
     * {@code ~/.config/fusebox/rules}, beside the desktop app's settings ({@link UserDirectories}).
     */
    public static Path userDirectory() {
        return UserDirectories.config().resolve("rules");
    }

    /** This book and the rule files given, read in order. */
    public RuleBook withFiles(List<Path> files) throws FuseboxException {
        List<RuleSet> sets = new ArrayList<>(ruleSets);
        for (Path f : files) {
            sets.add(RuleFileReader.read(readRuleFile(f), f, f.toString(), family -> byFamily(sets, family)));
        }
        return new RuleBook(sets);
    }

    /** A rule file's text: a regular file (never a device or pipe), at most {@link #MAX_RULE_FILE_BYTES}, UTF-8. */
    private static String readRuleFile(Path f) throws FuseboxException {
        if (!Files.isRegularFile(f)) {
            throw new FuseboxException(Problem.INVALID_RULES, f,
                    Files.exists(f) ? "is not a regular file" : "does not exist");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(f)) {
            bytes = in.readNBytes(MAX_RULE_FILE_BYTES + 1);
        } catch (IOException e) {
            throw new FuseboxException(Problem.INVALID_RULES, f, "could not be read (" + IoReason.of(e) + ")", e);
        }
        if (bytes.length > MAX_RULE_FILE_BYTES) {
            throw new FuseboxException(Problem.INVALID_RULES, f,
                    "is over the " + MAX_RULE_FILE_BYTES + "-byte limit for a rule file");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new FuseboxException(Problem.INVALID_RULES, f, "is not valid UTF-8 text");
        }
    }

    /** Every rule set, in the order read. */
    public List<RuleSet> ruleSets() {
        return ruleSets;
    }

    /** The rules for a model type: the last rule set read that names it. */
    public Optional<RuleSet> forModelType(String modelType) {
        for (RuleSet r : ruleSets.reversed()) {
            if (r.modelTypes().contains(modelType)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /**
     * The rules that fit {@code keys} best, for a checkpoint without a config: fewest rules that match nothing,
     * then most that match something, then the rule set read last. Empty when no rule matches any key.
     */
    public Optional<RuleSet> guess(Collection<String> keys) {
        KeyText shapes = new KeyText(KeyShapes.of(keys).keySet());
        RuleSet best = null;
        RuleSet.Fit bestFit = null;
        for (RuleSet r : ruleSets.reversed()) {
            RuleSet.Fit fit = r.fit(shapes);
            if (fit.used() > 0 && (bestFit == null || fit.betterThan(bestFit))) {
                best = r;
                bestFit = fit;
            }
        }
        return Optional.ofNullable(best);
    }

    private static Optional<RuleSet> byFamily(List<RuleSet> sets, String family) {
        for (RuleSet r : sets.reversed()) {
            if (r.family().equals(family)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    private static RuleBook readBundled() throws FuseboxException {
        List<RuleSet> sets = new ArrayList<>();
        for (String line : resource("families.txt").split("\n")) {
            String name = line.strip();
            if (name.isEmpty() || name.startsWith("#")) {
                continue;
            }
            sets.add(RuleFileReader.read(resource(name), null, name, family -> byFamily(sets, family)));
        }
        return new RuleBook(sets);
    }

    private static String resource(String name) {
        try (InputStream in = RuleBook.class.getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) {
                throw new IllegalStateException("the bundled rule resource " + name + " is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
