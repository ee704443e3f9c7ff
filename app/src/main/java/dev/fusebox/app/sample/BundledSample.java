package dev.fusebox.app.sample;

import dev.fusebox.converter.FileTrees;
import dev.fusebox.viewmodel.main.SampleSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The sample checkpoint bundled in the app's jar (resources/sample): a tiny legacy Mixtral and a LoRA adapter on
 * it. Checkpoints are memory-mapped files, so the first use extracts them to {@code <cache>/sample-<hash>/}, where
 * the hash is that of the MANIFEST that lists the files and their SHA-256; a new sample gets a new directory.
 * Extraction goes to a temporary directory, is checked against the manifest, and is renamed into place.
 */
public final class BundledSample implements SampleSource {

    private static final String ROOT = "/dev/fusebox/app/assets/sample/";

    private final Path cacheDirectory;

    public BundledSample(Path cacheDirectory) {
        this.cacheDirectory = cacheDirectory;
    }

    private record Entry(String sha256, String path) {
    }

    @Override
    public List<Path> paths() throws IOException {
        byte[] manifest = resource("MANIFEST");
        List<Entry> entries = parse(new String(manifest, StandardCharsets.UTF_8));
        Path dir = cacheDirectory.resolve("sample-" + HexFormat.of().formatHex(sha256(manifest), 0, 6));
        if (!Files.isRegularFile(dir.resolve(".complete"))) {
            // Extraction renames a complete directory into place, so one without its marker was changed by hand.
            FileTrees.deleteTree(dir);
            extract(entries, dir);
        }
        Set<String> roots = new LinkedHashSet<>();
        entries.forEach(e -> roots.add(e.path().substring(0, e.path().indexOf('/'))));
        List<Path> out = new ArrayList<>();
        roots.forEach(r -> out.add(dir.resolve(r)));
        return out;
    }

    private void extract(List<Entry> entries, Path dir) throws IOException {
        Files.createDirectories(cacheDirectory);
        Path tmp = Files.createTempDirectory(cacheDirectory, ".sample-");
        try {
            for (Entry e : entries) {
                byte[] bytes = resource(e.path());
                String actual = HexFormat.of().formatHex(sha256(bytes));
                if (!actual.equals(e.sha256())) {
                    throw new IOException("the bundled sample file " + e.path() + " does not match its MANIFEST");
                }
                Path target = tmp.resolve(e.path());
                Files.createDirectories(target.getParent());
                Files.write(target, bytes);
            }
            Files.createFile(tmp.resolve(".complete"));
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dir);
            }
        } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
            // Another Fusebox extracted it at the same moment; theirs is as good as ours.
            FileTrees.deleteTree(tmp);
        } catch (IOException | RuntimeException e) {
            FileTrees.deleteTree(tmp);
            throw e;
        }
    }

    private static List<Entry> parse(String manifest) throws IOException {
        List<Entry> out = new ArrayList<>();
        for (String line : manifest.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] parts = line.strip().split("\\s+", 2);
            if (parts.length != 2 || parts[0].length() != 64 || !parts[1].contains("/") || parts[1].contains("..")) {
                throw new IOException("the bundled sample's MANIFEST has a malformed line: " + line);
            }
            out.add(new Entry(parts[0], parts[1]));
        }
        if (out.isEmpty()) {
            throw new IOException("the bundled sample's MANIFEST lists no files");
        }
        return out;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = BundledSample.class.getResourceAsStream(ROOT + name)) {
            if (in == null) {
                throw new IOException("the bundled sample file " + name + " is missing from the app");
            }
            return in.readAllBytes();
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
