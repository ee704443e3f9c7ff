package dev.fusebox.converter.safetensors;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.tensor.MappedFile;
import dev.fusebox.converter.tensor.TensorFile;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A safetensors file opened for reading. Opening reads the header only; the data is memory-mapped, read-only and
 * whole (a {@link MemorySegment} has no 2 GiB limit), the first time a tensor's bytes are asked for. No file
 * handle stays open between calls, so a checkpoint of many shards costs nothing until its data is used.
 */
public final class SafetensorsFile implements TensorFile {

    private final Path path;
    private final long fileSize;
    private final SafetensorsHeader header;
    private final MappedFile mapped;

    private SafetensorsFile(Path path, long fileSize, SafetensorsHeader header) {
        this.path = path;
        this.fileSize = fileSize;
        this.mapped = new MappedFile(path, fileSize);
        this.header = header;
    }

    /** Opens {@code path} and validates its header. */
    public static SafetensorsFile open(Path path) throws FuseboxException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            return new SafetensorsFile(path, size, SafetensorsHeader.read(path, ch));
        } catch (NoSuchFileException e) {
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, path, "no such file");
        } catch (IOException e) {
            if (Files.isDirectory(path)) {
                throw new FuseboxException(Problem.NOT_A_CHECKPOINT, path, "is a directory, not a safetensors file");
            }
            throw new FuseboxException(Problem.IO_ERROR, path, "could not be read (" + IoReason.of(e) + ")", e);
        }
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public long fileSize() {
        return fileSize;
    }

    public SafetensorsHeader header() {
        return header;
    }

    @Override
    public Map<String, String> metadata() {
        return header.metadata();
    }

    @Override
    public List<TensorEntry> tensors() {
        return header.tensors();
    }

    @Override
    public Optional<TensorEntry> tensor(String key) {
        return header.tensor(key);
    }

    @Override
    public long fileOffset(TensorEntry entry) {
        return header.dataStart() + entry.begin();
    }

    /** The bytes of one tensor, as a read-only slice of the mapped file. */
    @Override
    public MemorySegment data(TensorEntry entry) throws FuseboxException {
        return mapped.slice(fileOffset(entry), entry.byteSize());
    }

    /** Unmaps the data; segments handed out before become inaccessible. */
    @Override
    public void close() {
        mapped.close();
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
