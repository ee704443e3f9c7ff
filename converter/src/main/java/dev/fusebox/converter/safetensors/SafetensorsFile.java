package dev.fusebox.converter.safetensors;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.tensor.FileBytes;
import dev.fusebox.converter.tensor.TensorEntry;
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
 * A safetensors file opened for reading. Opening reads the header only; a tensor's bytes are read when they are
 * asked for ({@link dev.fusebox.converter.tensor.FileBytes} says why not mapped). No file handle stays open
 * between calls, so a checkpoint of many shards costs nothing until its data is used.
 */
public final class SafetensorsFile implements TensorFile {

    private final Path path;
    private final long fileSize;
    private final SafetensorsHeader header;
    private final FileBytes bytes;

    private SafetensorsFile(Path path, long fileSize, SafetensorsHeader header) {
        this.path = path;
        this.fileSize = fileSize;
        this.bytes = new FileBytes(path, fileSize);
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

    @Override
    public MemorySegment data(TensorEntry entry) throws FuseboxException {
        return bytes.kept(fileOffset(entry), entry.byteSize());
    }

    @Override
    public MemorySegment read(long fileOffset, long length) throws FuseboxException {
        return bytes.read(fileOffset, length);
    }

    @Override
    public void close() {
        bytes.forget();
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
