package dev.fusebox.converter.torchzip;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Writes zip archives byte by byte, including ones no zip library would write (repeated names, entries sharing
 * their data, compressed flags on stored bytes), for the tests of the torch.save reader.
 */
final class TorchZipBuilder {

    private record Member(String name, byte[] data, int method, int aliasOf) {
    }

    private final List<Member> members = new ArrayList<>();
    private boolean zip64;

    /** Writes every size and offset through zip64 records, as torch does for archives past 4 GiB. */
    TorchZipBuilder zip64() {
        zip64 = true;
        return this;
    }

    /** A well-formed torch archive named {@code archive}: data.pkl, byteorder and the given storages. */
    static TorchZipBuilder torch(byte[] pickle, byte[]... storages) {
        TorchZipBuilder b = new TorchZipBuilder().add("archive/data.pkl", pickle)
                .add("archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < storages.length; i++) {
            b.add("archive/data/" + i, storages[i]);
        }
        return b.add("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    }

    TorchZipBuilder add(String name, byte[] data) {
        return add(name, data, 0);
    }

    TorchZipBuilder add(String name, byte[] data, int method) {
        members.add(new Member(name, data, method, -1));
        return this;
    }

    /** A second directory entry, under {@code name}, for the bytes of member {@code index}: an overlapping entry. */
    TorchZipBuilder alias(String name, int index) {
        members.add(new Member(name, members.get(index).data, 0, index));
        return this;
    }

    // Every buffer here comes from le(n), a heap buffer of its own: its backing array is exactly its bytes.
    @SuppressWarnings("ByteBufferBackingArray")
    byte[] bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long[] offsets = new long[members.size()];
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            if (m.aliasOf >= 0) {
                offsets[i] = offsets[m.aliasOf];
                continue;
            }
            offsets[i] = out.size();
            byte[] name = m.name.getBytes(StandardCharsets.UTF_8);
            ByteBuffer h = le(30).putInt(0x04034b50).putShort((short) 20).putShort((short) 0)
                    .putShort((short) m.method).putShort((short) 0).putShort((short) 0).putInt(crc(m.data))
                    .putInt(m.data.length).putInt(m.data.length).putShort((short) name.length).putShort((short) 0);
            out.writeBytes(h.array());
            out.writeBytes(name);
            out.writeBytes(m.data);
        }
        long cdOffset = out.size();
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            byte[] name = m.name.getBytes(StandardCharsets.UTF_8);
            int size = zip64 ? -1 : m.data.length;
            ByteBuffer c = le(46).putInt(0x02014b50).putShort((short) 20).putShort((short) 45).putShort((short) 0)
                    .putShort((short) m.method).putShort((short) 0).putShort((short) 0).putInt(crc(m.data))
                    .putInt(size).putInt(size).putShort((short) name.length).putShort((short) (zip64 ? 28 : 0))
                    .putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0)
                    .putInt(zip64 ? -1 : (int) offsets[i]);
            out.writeBytes(c.array());
            out.writeBytes(name);
            if (zip64) {
                out.writeBytes(le(28).putShort((short) 1).putShort((short) 24).putLong(m.data.length)
                        .putLong(m.data.length).putLong(offsets[i]).array());
            }
        }
        long cdSize = out.size() - cdOffset;
        if (zip64) {
            long recordAt = out.size();
            out.writeBytes(le(56).putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45)
                    .putInt(0).putInt(0).putLong(members.size()).putLong(members.size()).putLong(cdSize)
                    .putLong(cdOffset).array());
            out.writeBytes(le(20).putInt(0x07064b50).putInt(0).putLong(recordAt).putInt(1).array());
        }
        ByteBuffer e = le(22).putInt(0x06054b50).putShort((short) 0).putShort((short) 0)
                .putShort((short) (zip64 ? -1 : members.size())).putShort((short) (zip64 ? -1 : members.size()))
                .putInt(zip64 ? -1 : (int) cdSize).putInt(zip64 ? -1 : (int) cdOffset).putShort((short) 0);
        out.writeBytes(e.array());
        return out.toByteArray();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int crc(byte[] data) {
        CRC32 c = new CRC32();
        c.update(data);
        return (int) c.getValue();
    }
}
