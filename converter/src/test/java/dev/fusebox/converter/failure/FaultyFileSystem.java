package dev.fusebox.converter.failure;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardOpenOption;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.spi.FileSystemProvider;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The default file system seen through a window that fails on cue: after a given number of bytes written (over
 * all files opened through it) every write fails as a full disk or a failing device would, and renames can be made
 * to fail. Code under test gets paths of this file system for its output and cannot tell them from real ones;
 * reads and everything else go to the real files.
 */
final class FaultyFileSystem extends FileSystem {

    private final FileSystem real;
    private final Provider provider = new Provider();
    private final AtomicLong written = new AtomicLong();
    private volatile long writeBudget = Long.MAX_VALUE;
    private volatile String failure = "No space left on device";
    private volatile boolean failMoves;

    FaultyFileSystem(FileSystem real) {
        this.real = real;
    }

    /** {@code path} of the default file system, seen through this one. */
    Path wrap(Path path) {
        return new FaultyPath(this, path);
    }

    static Path unwrap(Path path) {
        return path instanceof FaultyPath f ? f.real() : path;
    }

    /** Lets {@code bytes} more bytes be written, then fails every write with {@code message}. */
    void failWritesAfter(long bytes, String message) {
        written.set(0);
        writeBudget = bytes;
        failure = message;
    }

    void failMoves(boolean fail) {
        failMoves = fail;
    }

    /** Bytes written through this file system since the last {@link #failWritesAfter}. */
    long written() {
        return written.get();
    }

    /** Takes up to {@code wanted} bytes of the budget; throws when none is left. */
    int take(int wanted) throws IOException {
        while (true) {
            long used = written.get();
            long left = writeBudget - used;
            if (left <= 0) {
                throw new IOException(failure);
            }
            int granted = (int) Math.min(wanted, left);
            if (written.compareAndSet(used, used + granted)) {
                return granted;
            }
        }
    }

    @Override
    public FileSystemProvider provider() {
        return provider;
    }

    @Override
    public void close() {
        throw new UnsupportedOperationException();
    }

    @Override
    public boolean isOpen() {
        return true;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return real.getSeparator();
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        return List.of(wrap(real.getRootDirectories().iterator().next()));
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        return real.getFileStores();
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return real.supportedFileAttributeViews();
    }

    @Override
    public Path getPath(String first, String... more) {
        return wrap(real.getPath(first, more));
    }

    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        PathMatcher m = real.getPathMatcher(syntaxAndPattern);
        return p -> m.matches(unwrap(p));
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        return real.getUserPrincipalLookupService();
    }

    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException();
    }

    /** Every operation on the real files, with the writes of channels and the moves under this file system's cues. */
    private final class Provider extends FileSystemProvider {

        private FileSystemProvider delegate() {
            return real.provider();
        }

        @Override
        public String getScheme() {
            return "faulty";
        }

        @Override
        public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
            throw new UnsupportedOperationException();
        }

        @Override
        public FileSystem getFileSystem(URI uri) {
            return FaultyFileSystem.this;
        }

        @Override
        public Path getPath(URI uri) {
            return wrap(delegate().getPath(uri));
        }

        @Override
        public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
                                                  FileAttribute<?>... attrs) throws IOException {
            return newFileChannel(path, options, attrs);
        }

        @Override
        public java.nio.channels.FileChannel newFileChannel(Path path, Set<? extends OpenOption> options,
                                                            FileAttribute<?>... attrs) throws IOException {
            java.nio.channels.FileChannel ch = delegate().newFileChannel(unwrap(path), options, attrs);
            boolean writes = options.contains(StandardOpenOption.WRITE) || options.contains(StandardOpenOption.APPEND);
            return writes ? new FaultyChannel(ch, FaultyFileSystem.this) : ch;
        }

        @Override
        public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
                throws IOException {
            DirectoryStream<Path> s = delegate().newDirectoryStream(unwrap(dir), p -> filter.accept(wrap(p)));
            return new DirectoryStream<>() {
                @Override
                public java.util.Iterator<Path> iterator() {
                    java.util.Iterator<Path> it = s.iterator();
                    return new java.util.Iterator<>() {
                        @Override
                        public boolean hasNext() {
                            return it.hasNext();
                        }

                        @Override
                        public Path next() {
                            return wrap(it.next());
                        }
                    };
                }

                @Override
                public void close() throws IOException {
                    s.close();
                }
            };
        }

        @Override
        public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
            delegate().createDirectory(unwrap(dir), attrs);
        }

        @Override
        public void delete(Path path) throws IOException {
            delegate().delete(unwrap(path));
        }

        @Override
        public void copy(Path source, Path target, CopyOption... options) throws IOException {
            try (var in = Files.newInputStream(unwrap(source)); var out = Files.newOutputStream(target)) {
                in.transferTo(out);
            }
        }

        @Override
        public void move(Path source, Path target, CopyOption... options) throws IOException {
            if (failMoves) {
                throw new IOException("Input/output error (rename)");
            }
            delegate().move(unwrap(source), unwrap(target), options);
        }

        @Override
        public boolean isSameFile(Path path, Path path2) throws IOException {
            return delegate().isSameFile(unwrap(path), unwrap(path2));
        }

        @Override
        public boolean isHidden(Path path) throws IOException {
            return delegate().isHidden(unwrap(path));
        }

        @Override
        public FileStore getFileStore(Path path) throws IOException {
            return delegate().getFileStore(unwrap(path));
        }

        @Override
        public void checkAccess(Path path, AccessMode... modes) throws IOException {
            delegate().checkAccess(unwrap(path), modes);
        }

        @Override
        public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
            return delegate().getFileAttributeView(unwrap(path), type, options);
        }

        @Override
        public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
                throws IOException {
            return delegate().readAttributes(unwrap(path), type, options);
        }

        @Override
        public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
                throws IOException {
            return delegate().readAttributes(unwrap(path), attributes, options);
        }

        @Override
        public void setAttribute(Path path, String attribute, Object value, LinkOption... options)
                throws IOException {
            delegate().setAttribute(unwrap(path), attribute, value, options);
        }

        @Override
        public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
            delegate().createSymbolicLink(unwrap(link), unwrap(target), attrs);
        }

        @Override
        public Path readSymbolicLink(Path link) throws IOException {
            return wrap(delegate().readSymbolicLink(unwrap(link)));
        }
    }
}
