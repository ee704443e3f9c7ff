package dev.fusebox.converter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Strict UTF-8 validation of headers and JSON files. Their text is nearly always plain ASCII, which is checked
 * eight bytes at a time; only text with other bytes goes through a decoder, in small chunks, keeping nothing.
 */
public final class Utf8 {

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long HIGH_BITS = 0x8080808080808080L;

    private Utf8() {
    }

    /** The offset of the first byte that is not part of valid UTF-8, or -1 when all of {@code bytes} is valid. */
    public static int firstInvalid(byte[] bytes) {
        int i = 0;
        for (; i + 8 <= bytes.length; i += 8) {
            if (((long) LONGS.get(bytes, i) & HIGH_BITS) != 0) {
                return decode(bytes);
            }
        }
        for (; i < bytes.length; i++) {
            if (bytes[i] < 0) {
                return decode(bytes);
            }
        }
        return -1;
    }

    /**
     * The characters of {@code bytes}, which {@link #firstInvalid} found valid, for a JSON parser: JSON files are
     * decoded here, in one pass, rather than by the parser through a reader. A leading byte order mark is dropped,
     * as JSON readers may drop it.
     */
    public static char[] jsonText(byte[] bytes) {
        int bom = bytes.length >= 3 && bytes[0] == (byte) 0xEF && bytes[1] == (byte) 0xBB && bytes[2] == (byte) 0xBF
                ? 3 : 0;
        char[] text = new char[bytes.length - bom];
        for (int i = bom; i < bytes.length; i++) {
            if (bytes[i] < 0) {
                return new String(bytes, bom, bytes.length - bom, StandardCharsets.UTF_8).toCharArray();
            }
            text[i - bom] = (char) bytes[i];
        }
        return text;
    }

    private static int decode(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(8192);
        while (true) {
            CoderResult r = decoder.decode(in, out, true);
            if (r.isError()) {
                return in.position();
            }
            if (r.isUnderflow()) {
                break;
            }
            out.clear();
        }
        out.clear();
        return decoder.flush(out).isError() ? in.position() : -1;
    }
}
