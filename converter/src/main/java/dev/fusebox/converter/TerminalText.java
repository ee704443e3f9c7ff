package dev.fusebox.converter;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;

/**
 * Names from files (tensor keys, shard and file names) as a terminal may show them: a control character
 * (C0, DEL, C1) or a bidirectional override is written as an escape ({@code \n}, {@code \x1b}, {@code \u202e}),
 * so that a key cannot clear the screen, retitle the window, forge a line of output or reorder what follows it.
 */
public final class TerminalText {

    private TerminalText() {
    }

    /** {@code text} with every control character and bidirectional override escaped. */
    public static String escape(String text) {
        return escape(text, "");
    }

    /** {@link #escape(String)}, leaving the characters in {@code kept} (such as a line break) as they are. */
    public static String escape(String text, String kept) {
        int i = 0;
        while (i < text.length() && !escaped(text.charAt(i), kept)) {
            i++;
        }
        if (i == text.length()) {
            return text;
        }
        StringBuilder s = new StringBuilder(text.length() + 8).append(text, 0, i);
        for (; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!escaped(c, kept)) {
                s.append(c);
            } else if (c == '\n') {
                s.append("\\n");
            } else if (c == '\r') {
                s.append("\\r");
            } else if (c == '\t') {
                s.append("\\t");
            } else if (c < 0x100) {
                s.append(String.format("\\x%02x", (int) c));
            } else {
                s.append(String.format("\\u%04x", (int) c));
            }
        }
        return s.toString();
    }

    /** A writer onto {@code out} that escapes what it is given, but for the characters in {@code kept}. */
    public static PrintWriter printer(Writer out, String kept, boolean autoFlush) {
        return new PrintWriter(new FilterWriter(out) {
            @Override
            public void write(int c) throws IOException {
                out.write(escape(String.valueOf((char) c), kept));
            }

            @Override
            public void write(char[] buffer, int offset, int length) throws IOException {
                out.write(escape(new String(buffer, offset, length), kept));
            }

            @Override
            public void write(String text, int offset, int length) throws IOException {
                out.write(escape(text.substring(offset, offset + length), kept));
            }
        }, autoFlush);
    }

    private static boolean escaped(char c, String kept) {
        boolean control = c < 0x20 || (c >= 0x7f && c < 0xa0);
        boolean bidi = (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f
                || c == 0x061c;
        return (control || bidi) && kept.indexOf(c) < 0;
    }
}
