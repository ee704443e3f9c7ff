package dev.fusebox.converter.torchzip;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The members of a zip archive whose entries are all stored uncompressed, as torch.save writes them, each as a
 * byte range of the file. Nothing is inflated or extracted: an entry is only ever a range to read in place. The
 * reader is strict where a hostile archive could mislead it: the central directory, every local header and every
 * data range must lie inside the file and before the central directory, ranges may not overlap (the trick of
 * overlapping zip bombs), names may not repeat or leave the archive, and compressed or encrypted entries are
 * refused rather than inflated. Zip64 records are read, as torch writes them for large archives.
 */
final class StoredZip {

    /** One member: its name and the byte range of its data in the file. */
    record Entry(String name, long dataOffset, long size) {
        long end() {
            return dataOffset + size;
        }
    }

    /** No torch archive comes near this many members (one per storage); a central directory past it is refused. */
    static final long MAX_CENTRAL_DIRECTORY_BYTES = 64L * 1024 * 1024;

    private static final int EOCD = 0x06054b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int LOCAL = 0x04034b50;
    private static final long U32 = 0xFFFFFFFFL;
    private static final int U16 = 0xFFFF;

    private final Map<String, Entry> entries;

    private StoredZip(Map<String, Entry> entries) {
        this.entries = Collections.unmodifiableMap(entries);
    }

    /** Members by name, in central-directory order. */
    Map<String, Entry> entries() {
        return entries;
    }

    static StoredZip read(Path file, FileChannel channel) throws FuseboxException, IOException {
        long size = channel.size();
        if (size < 22) {
            throw invalid(file, "is " + size + " bytes long, too short to be a zip archive");
        }
        int tailLength = (int) Math.min(size, 22 + U16);
        ByteBuffer tail = read(channel, size - tailLength, tailLength);
        int eocd = -1;
        for (int i = tailLength - 22; i >= 0; i--) {
            if (tail.getInt(i) == EOCD && i + 22 + Short.toUnsignedInt(tail.getShort(i + 20)) == tailLength) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw invalid(file, "has no zip end-of-central-directory record; the file is truncated or not a zip archive");
        }
        long eocdPosition = size - tailLength + eocd;
        int disk = Short.toUnsignedInt(tail.getShort(eocd + 4));
        int cdDisk = Short.toUnsignedInt(tail.getShort(eocd + 6));
        long count = Short.toUnsignedInt(tail.getShort(eocd + 10));
        long cdSize = Integer.toUnsignedLong(tail.getInt(eocd + 12));
        long cdOffset = Integer.toUnsignedLong(tail.getInt(eocd + 16));
        long cdLimit = eocdPosition;
        if (count == U16 || cdSize == U32 || cdOffset == U32) {
            if (eocdPosition < 20) {
                throw invalid(file, "announces zip64 records but has no room for them");
            }
            ByteBuffer locator = read(channel, eocdPosition - 20, 20);
            if (locator.getInt(0) != ZIP64_LOCATOR) {
                throw invalid(file, "announces zip64 records but has no zip64 locator");
            }
            long zip64Position = locator.getLong(8);
            if (zip64Position < 0 || zip64Position > eocdPosition - 20 - 56) {
                throw invalid(file, "has a zip64 locator pointing outside the file");
            }
            ByteBuffer z = read(channel, zip64Position, 56);
            if (z.getInt(0) != ZIP64_EOCD) {
                throw invalid(file, "has no zip64 end-of-central-directory record where its locator points");
            }
            disk = z.getInt(16);
            cdDisk = z.getInt(20);
            count = z.getLong(32);
            cdSize = z.getLong(40);
            cdOffset = z.getLong(48);
            cdLimit = zip64Position;
        }
        if (disk != 0 || cdDisk != 0) {
            throw invalid(file, "is a multi-volume zip archive, which torch.save never writes");
        }
        if (cdSize < 0 || cdOffset < 0 || cdSize > cdLimit || cdOffset > cdLimit - cdSize) {
            throw invalid(file, "has a central directory [" + Long.toUnsignedString(cdOffset) + ", +"
                    + Long.toUnsignedString(cdSize) + ") outside the file; the file may be truncated");
        }
        if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES) {
            throw invalid(file, "has a central directory of " + cdSize + " bytes, over Fusebox's limit of "
                    + MAX_CENTRAL_DIRECTORY_BYTES);
        }
        if (count < 0 || count > cdSize / 46) {
            throw invalid(file, "announces " + Long.toUnsignedString(count) + " entries, more than its central "
                    + "directory of " + cdSize + " bytes can hold");
        }
        ByteBuffer cd = read(channel, cdOffset, (int) cdSize);
        List<Central> central = new ArrayList<>((int) count);
        int p = 0;
        for (long i = 0; i < count; i++) {
            Central c = central(file, cd, p);
            central.add(c);
            p = c.next;
        }
        return new StoredZip(locate(file, channel, central, cdOffset));
    }

    private record Central(String name, byte[] rawName, long size, long localOffset, int method, int next) {
    }

    private static Central central(Path file, ByteBuffer cd, int p) throws FuseboxException {
        if (p > cd.limit() - 46 || cd.getInt(p) != CENTRAL) {
            throw invalid(file, "has a damaged central directory (no entry header at its byte " + p + ")");
        }
        int flags = Short.toUnsignedInt(cd.getShort(p + 8));
        int method = Short.toUnsignedInt(cd.getShort(p + 10));
        long compressed = Integer.toUnsignedLong(cd.getInt(p + 20));
        long size = Integer.toUnsignedLong(cd.getInt(p + 24));
        int nameLength = Short.toUnsignedInt(cd.getShort(p + 28));
        int extraLength = Short.toUnsignedInt(cd.getShort(p + 30));
        int commentLength = Short.toUnsignedInt(cd.getShort(p + 32));
        int diskStart = Short.toUnsignedInt(cd.getShort(p + 34));
        long localOffset = Integer.toUnsignedLong(cd.getInt(p + 42));
        int next = p + 46 + nameLength + extraLength + commentLength;
        if (next > cd.limit()) {
            throw invalid(file, "has a damaged central directory (an entry runs past its end)");
        }
        byte[] rawName = new byte[nameLength];
        cd.get(p + 46, rawName);
        String name = name(file, rawName);
        int x = p + 46 + nameLength;
        int extraEnd = x + extraLength;
        while (x + 4 <= extraEnd) {
            int id = Short.toUnsignedInt(cd.getShort(x));
            int length = Short.toUnsignedInt(cd.getShort(x + 2));
            if (x + 4 + length > extraEnd) {
                throw invalid(file, "entry '" + name + "' has a damaged extra field");
            }
            if (id == 0x0001) {
                int q = x + 4;
                int end = q + length;
                if (size == U32) {
                    size = zip64Field(file, name, cd, q, end);
                    q += 8;
                }
                if (compressed == U32) {
                    compressed = zip64Field(file, name, cd, q, end);
                    q += 8;
                }
                if (localOffset == U32) {
                    localOffset = zip64Field(file, name, cd, q, end);
                }
            }
            x += 4 + length;
        }
        if ((flags & 1) != 0) {
            throw invalid(file, "entry '" + name + "' is encrypted, which torch.save never does");
        }
        if (method != 0) {
            throw invalid(file, "entry '" + name + "' is compressed (zip method " + method + "); torch.save "
                    + "stores entries uncompressed, and Fusebox reads tensors in place instead of inflating them");
        }
        if (compressed != size) {
            throw invalid(file, "entry '" + name + "' is stored uncompressed but gives two sizes ("
                    + Long.toUnsignedString(compressed) + " and " + Long.toUnsignedString(size) + ")");
        }
        if (diskStart != 0 && diskStart != U16) {
            throw invalid(file, "entry '" + name + "' lies on another volume of a multi-volume archive");
        }
        return new Central(name, rawName, size, localOffset, method, next);
    }

    private static long zip64Field(Path file, String name, ByteBuffer cd, int q, int end) throws FuseboxException {
        if (q + 8 > end) {
            throw invalid(file, "entry '" + name + "' has a zip64 extra field too short for its sizes");
        }
        return cd.getLong(q);
    }

    private static Map<String, Entry> locate(Path file, FileChannel channel, List<Central> central, long cdOffset)
            throws FuseboxException, IOException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        List<Central> byOffset = new ArrayList<>(central);
        byOffset.sort(Comparator.comparingLong(Central::localOffset));
        Map<String, Entry> located = new LinkedHashMap<>();
        long previousEnd = 0;
        String previousName = null;
        for (Central c : byOffset) {
            if (c.localOffset < previousEnd) {
                throw invalid(file, "entry '" + c.name + "' overlaps entry '" + previousName
                        + "'; overlapping entries are how zip bombs multiply their size");
            }
            if (c.localOffset < 0 || c.localOffset > cdOffset - 30) {
                throw invalid(file, "entry '" + c.name + "' has its header outside the archive's data");
            }
            ByteBuffer local = read(channel, c.localOffset, 30);
            if (local.getInt(0) != LOCAL) {
                throw invalid(file, "entry '" + c.name + "' has no local header where the directory says");
            }
            int method = Short.toUnsignedInt(local.getShort(8));
            int nameLength = Short.toUnsignedInt(local.getShort(26));
            int extraLength = Short.toUnsignedInt(local.getShort(28));
            long dataOffset = c.localOffset + 30 + nameLength + extraLength;
            if (dataOffset > cdOffset || c.size > cdOffset - dataOffset) {
                throw invalid(file, "entry '" + c.name + "' has data [" + dataOffset + ", +" + c.size
                        + ") running past the archive's data; the file may be truncated");
            }
            byte[] localName = new byte[nameLength];
            read(channel, c.localOffset + 30, nameLength).get(0, localName);
            if (method != c.method || !Arrays.equals(localName, c.rawName)) {
                throw invalid(file, "entry '" + c.name + "' has a local header that disagrees with the directory");
            }
            located.put(c.name, new Entry(c.name, dataOffset, c.size));
            previousEnd = dataOffset + c.size;
            previousName = c.name;
        }
        for (Central c : central) {
            if (entries.putIfAbsent(c.name, located.get(c.name)) != null) {
                throw invalid(file, "names the entry '" + c.name + "' twice");
            }
        }
        return entries;
    }

    private static String name(Path file, byte[] raw) throws FuseboxException {
        String name;
        try {
            name = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw invalid(file, "has an entry name that is not valid UTF-8");
        }
        boolean leaves = name.isEmpty() || name.startsWith("/") || name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0
                || name.indexOf(':') >= 0;
        for (String part : name.split("/", -1)) {
            leaves |= part.equals("..") || part.equals(".");
        }
        if (leaves) {
            throw invalid(file, "has an entry named '" + printable(name) + "', a path that leaves the archive");
        }
        return name;
    }

    /** The name with control characters escaped, for a message. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(200).forEach(c -> {
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return s.codePointCount(0, s.length()) > 200 ? b + "…" : b.toString();
    }

    private static ByteBuffer read(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        long pos = position;
        while (b.hasRemaining()) {
            int n = channel.read(b, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + pos);
            }
            pos += n;
        }
        return b.flip().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static FuseboxException invalid(Path file, String detail) {
        return new FuseboxException(Problem.INVALID_ARCHIVE, file, detail);
    }
}
