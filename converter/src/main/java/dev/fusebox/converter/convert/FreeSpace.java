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
        Path existing = where.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null || bytes <= 0) {
            return;
        }
        long usable;
        try {
            usable = Files.getFileStore(existing).getUsableSpace();
        } catch (IOException e) {
            return; // a file system that cannot say leaves the write itself to fail, naming the file
        }
        if (usable < bytes) {
            throw new FuseboxException(Problem.IO_ERROR, where, what + " needs " + size(bytes) + " free there, and "
                    + "its file system has " + size(usable) + "; free some space or choose another place");
        }
    }

    static String size(long bytes) {
        double gib = bytes / (double) (1L << 30);
        return gib >= 1 ? String.format(Locale.ROOT, "%.1f GiB", gib)
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
