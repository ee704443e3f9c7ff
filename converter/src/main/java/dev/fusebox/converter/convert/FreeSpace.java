package dev.fusebox.converter.convert;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Refuses long work early when the file system it writes to cannot hold what it will write. */
public final class FreeSpace {

    private FreeSpace() {
    }

    /**
     * Checks that the file system of {@code where} (or of its nearest existing ancestor) has {@code bytes} free;
     * refuses with a sentence saying how much {@code what} needs and how much there is.
     */
    public static void require(Path where, long bytes, String what) throws FuseboxException {
        require(where, bytes, usable(where), what);
    }

    /**
     * Refuses when {@code usable} bytes, free where {@code where} is, cannot hold the {@code bytes} that
     * {@code what} writes there.
     */
    public static void require(Path where, long bytes, long usable, String what) throws FuseboxException {
        if (bytes > 0 && usable < bytes) {
            throw new FuseboxException(Problem.IO_ERROR, where, what + " needs " + size(bytes) + " free there, and "
                    + "its file system has " + size(usable) + "; free some space or choose another place");
        }
    }

    /**
     * The bytes free on the file system of {@code where} (or of its nearest existing ancestor); a file system that
     * cannot say counts as unlimited, leaving the write itself to fail, naming the file.
     */
    public static long usable(Path where) {
        Path existing = where.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return Long.MAX_VALUE;
        }
        try {
            return Files.getFileStore(existing).getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE;
        }
    }

    static String size(long bytes) {
        double gib = bytes / (double) (1L << 30);
        return gib >= 1 ? String.format(Locale.ROOT, "%.1f GiB", gib)
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
