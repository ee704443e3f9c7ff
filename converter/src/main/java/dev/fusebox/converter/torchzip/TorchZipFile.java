package dev.fusebox.converter.torchzip;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.IoReason;
import dev.fusebox.converter.Limits;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.tensor.Shape;
import dev.fusebox.converter.tensor.TensorEntry;
import dev.fusebox.converter.tensor.FileBytes;
import dev.fusebox.converter.tensor.TensorFile;
import dev.fusebox.converter.torchzip.PickleValue.PyDict;
import dev.fusebox.converter.torchzip.PickleValue.PyStr;
import dev.fusebox.converter.torchzip.PickleValue.Storage;
import dev.fusebox.converter.torchzip.PickleValue.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A PyTorch state dict saved by torch.save ({@code adapter_model.bin}, {@code pytorch_model.bin}), read as a
 * {@link TensorFile}: a zip archive whose {@code <name>/data.pkl} describes the tensors and whose
 * {@code <name>/data/<key>} entries hold the storages, uncompressed. A contiguous tensor is therefore a byte range
 * of the file, exactly like a safetensors tensor; {@link TensorEntry#begin()} and {@link TensorEntry#end()} are
 * absolute file offsets here. The pickle is read by {@link TorchUnpickler}, which runs nothing the file names.
 *
 * <p>Refused with a sentence that says why: the pre-1.6 format, TorchScript archives, big-endian storages,
 * compressed entries, non-contiguous views, values that are not tensors, and tensors reaching outside their
 * storage.
 */
public final class TorchZipFile implements TensorFile {

    /** data.pkl is read whole; a state dict of 100 000 tensors pickles to about 17 MB. */
    public static final long MAX_PICKLE_BYTES = 64L * 1024 * 1024;

    private final Path path;
    private final long fileSize;
    private final List<TensorEntry> tensors;
    private final Map<String, TensorEntry> byKey;
    private final FileBytes bytes;

    private TorchZipFile(Path path, long fileSize, List<TensorEntry> tensors) {
        this.path = path;
        this.fileSize = fileSize;
        this.bytes = new FileBytes(path, fileSize);
        this.tensors = List.copyOf(tensors);
        this.byKey = new HashMap<>(tensors.size() * 2);
        for (TensorEntry t : tensors) {
            byKey.put(t.key(), t);
        }
    }

    /** Whether {@code path} names a file this reader is for, by name ({@code .bin}, {@code .pt}, {@code .pth}). */
    public static boolean isTorchFileName(Path path) {
        String n = path.getFileName() == null ? "" : path.getFileName().toString();
        return n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth");
    }

    /** Opens {@code path}: reads the zip directory and data.pkl, validates every tensor; maps no data yet. */
    public static TorchZipFile open(Path path) throws FuseboxException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            return new TorchZipFile(path, size, read(path, ch));
        } catch (NoSuchFileException e) {
            throw new FuseboxException(Problem.NOT_A_CHECKPOINT, path, "no such file");
        } catch (IOException e) {
            if (Files.isDirectory(path)) {
                throw new FuseboxException(Problem.NOT_A_CHECKPOINT, path, "is a directory, not a PyTorch file");
            }
            throw new FuseboxException(Problem.IO_ERROR, path, "could not be read (" + IoReason.of(e) + ")", e);
        }
    }

    private static List<TensorEntry> read(Path path, FileChannel ch) throws FuseboxException, IOException {
        byte[] magic = bytes(ch, 0, (int) Math.min(4, ch.size()));
        if (magic.length < 4 || magic[0] != 'P' || magic[1] != 'K' || magic[2] != 3 || magic[3] != 4) {
            if (magic.length > 0 && (magic[0] & 0xFF) == 0x80) {
                throw new FuseboxException(Problem.UNSUPPORTED, path, "is a PyTorch file in the format of torch "
                        + "before 1.6 (a bare pickle); load it in Python and save it again with torch.save, or as "
                        + "safetensors");
            }
            throw new FuseboxException(Problem.INVALID_ARCHIVE, path,
                    "is not a PyTorch zip archive (torch.save's format); it does not start with a zip header");
        }
        Map<String, StoredZip.Entry> entries = StoredZip.read(path, ch).entries();
        String prefix = archivePrefix(path, entries);
        if (entries.containsKey(prefix + "constants.pkl")) {
            throw new FuseboxException(Problem.UNSUPPORTED, path,
                    "is a TorchScript archive (torch.jit.save), not a state dict saved by torch.save");
        }
        StoredZip.Entry byteorder = entries.get(prefix + "byteorder");
        if (byteorder != null) {
            String order = byteorder.size() <= 16
                    ? new String(bytes(ch, byteorder.dataOffset(), (int) byteorder.size()), StandardCharsets.US_ASCII)
                    : "?";
            if (order.equals("big")) {
                throw new FuseboxException(Problem.UNSUPPORTED, path, "stores big-endian tensors (its byteorder "
                        + "record says 'big'); Fusebox reads little-endian data as safetensors holds it");
            }
            if (!order.equals("little")) {
                throw new FuseboxException(Problem.INVALID_ARCHIVE, path,
                        "has a byteorder record that is neither 'little' nor 'big'");
            }
        }
        StoredZip.Entry pickle = entries.get(prefix + "data.pkl");
        if (pickle.size() > MAX_PICKLE_BYTES) {
            throw new FuseboxException(Problem.INVALID_ARCHIVE, path, "has a data.pkl of " + pickle.size()
                    + " bytes, over Fusebox's limit of " + MAX_PICKLE_BYTES);
        }
        PickleValue root = TorchUnpickler.load(path, bytes(ch, pickle.dataOffset(), (int) pickle.size()));
        return entries(path, root, prefix, entries);
    }

    /** The archive's folder ({@code <name>/}): the one holding data.pkl, which every entry must lie in. */
    private static String archivePrefix(Path path, Map<String, StoredZip.Entry> entries) throws FuseboxException {
        String prefix = null;
        for (String name : entries.keySet()) {
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash + 1).equals("data.pkl")) {
                if (prefix != null) {
                    throw new FuseboxException(Problem.INVALID_ARCHIVE, path, "holds two data.pkl records");
                }
                prefix = name.substring(0, slash + 1);
            }
        }
        if (prefix == null) {
            throw new FuseboxException(Problem.INVALID_ARCHIVE, path,
                    "is a zip archive without a <name>/data.pkl record, so not a file of torch.save");
        }
        for (String name : entries.keySet()) {
            if (!name.startsWith(prefix)) {
                throw new FuseboxException(Problem.INVALID_ARCHIVE, path, "holds the entry '"
                        + StoredZip.printable(name) + "' outside its archive folder '" + prefix + "'");
            }
        }
        return prefix;
    }

    private static List<TensorEntry> entries(Path path, PickleValue root, String prefix,
                                             Map<String, StoredZip.Entry> zip) throws FuseboxException {
        if (!(root instanceof PyDict(var items))) {
            throw new FuseboxException(Problem.INVALID_PICKLE, path, "holds a " + root.kind()
                    + " instead of a state dict (a dict of tensors)");
        }
        if (items.size() > Limits.MAX_TENSORS_PER_FILE) {
            throw new FuseboxException(Problem.TOO_MANY_TENSORS, path, "holds " + items.size()
                    + " tensors, more than the " + Limits.MAX_TENSORS_PER_FILE + " Fusebox opens in one file");
        }
        Map<String, Storage> storages = new HashMap<>();
        List<TensorEntry> out = new ArrayList<>(items.size());
        for (var e : items.entrySet()) {
            if (!(e.getKey() instanceof PyStr(String key))) {
                throw new FuseboxException(Problem.INVALID_PICKLE, path,
                        "holds a state dict with a key that is a " + e.getKey().kind() + ", not a string");
            }
            if (!(e.getValue() instanceof Tensor t)) {
                throw new FuseboxException(Problem.INVALID_PICKLE, path, key, "its value is a "
                        + e.getValue().kind() + ", not a tensor; Fusebox reads flat state dicts as PEFT and "
                        + "transformers save them");
            }
            Storage previous = storages.putIfAbsent(t.storage().key(), t.storage());
            if (previous != null && !previous.equals(t.storage())) {
                throw new FuseboxException(Problem.INVALID_PICKLE, path, key, "its storage '" + t.storage().key()
                        + "' is described differently by another tensor");
            }
            out.add(entry(path, key, t, zip.get(prefix + "data/" + t.storage().key())));
        }
        out.sort(Comparator.comparingLong(TensorEntry::begin).thenComparing(TensorEntry::key));
        return out;
    }

    private static TensorEntry entry(Path path, String key, Tensor t, StoredZip.Entry data) throws FuseboxException {
        Storage s = t.storage();
        if (data == null) {
            throw new FuseboxException(Problem.INVALID_ARCHIVE, path, key,
                    "its storage '" + StoredZip.printable(s.key()) + "' has no data record in the archive");
        }
        long elementBytes = t.dtype().byteSize();
        try {
            long storageBytes = Math.multiplyExact(s.numel(), s.elementBytes());
            if (storageBytes != data.size()) {
                throw new FuseboxException(Problem.SIZE_MISMATCH, path, key, "its storage '" + s.key() + "' holds "
                        + s.numel() + " elements of " + s.elementBytes() + " bytes, but its record has "
                        + data.size() + " bytes");
            }
            Shape shape = new Shape(t.shape());
            long count = shape.elementCount();
            if (!contiguous(t.shape(), t.stride())) {
                throw new FuseboxException(Problem.UNSUPPORTED, path, key, "it is a non-contiguous view (shape "
                        + shape + ", strides " + Arrays.toString(t.stride()) + "); save tensor.contiguous() "
                        + "instead, or convert the file to safetensors in Python");
            }
            long begin = Math.multiplyExact(t.storageOffset(), elementBytes);
            long length = Math.multiplyExact(count, elementBytes);
            if (count > 0 && Math.addExact(begin, length) > data.size()) {
                throw new FuseboxException(Problem.INVALID_OFFSETS, path, key, "it reaches byte "
                        + Math.addExact(begin, length) + " of its storage '" + s.key() + "', which holds only "
                        + data.size() + " bytes");
            }
            long fileBegin = Math.addExact(data.dataOffset(), count == 0 ? 0 : begin);
            return new TensorEntry(key, t.dtype(), shape, fileBegin, Math.addExact(fileBegin, length));
        } catch (ArithmeticException e) {
            throw new FuseboxException(Problem.SIZE_OVERFLOW, path, key,
                    "its size or offset does not fit in 64 bits");
        }
    }

    /** Row-major strides, ignoring dimensions of size 1 (whose stride is never used) and empty tensors. */
    static boolean contiguous(long[] shape, long[] stride) {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 0) {
                return true;
            }
            if (shape[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected = Math.multiplyExact(expected, shape[i]);
        }
        return true;
    }

    private static byte[] bytes(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        long pos = position;
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + pos);
            }
            pos += n;
        }
        return b.array();
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public long fileSize() {
        return fileSize;
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    @Override
    public List<TensorEntry> tensors() {
        return tensors;
    }

    @Override
    public Optional<TensorEntry> tensor(String key) {
        return Optional.ofNullable(byKey.get(key));
    }

    /** The entry's begin: offsets of this format are absolute. */
    @Override
    public long fileOffset(TensorEntry entry) {
        return entry.begin();
    }

    @Override
    public MemorySegment data(TensorEntry entry) throws FuseboxException {
        return bytes.kept(entry.begin(), entry.byteSize());
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
