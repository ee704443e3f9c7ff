package dev.fusebox.converter;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;

/**
 * Skipping a JSON value that a reader does not use, still refusing an object in it that names a key twice: the
 * readers of large headers and indexes turn the parser's own duplicate check off (it keeps a set per object, most
 * of the time it takes to read 100 000 entries) and check the names they read themselves.
 */
public final class JsonValues {

    private JsonValues() {
    }

    /**
     * Skips the value the parser is at (a scalar, or an object or array to its end).
     *
     * @return the first name an object in the value gives twice, or null when there is none (the parser then
     *         stands in the middle of the value)
     */
    public static @Nullable String skip(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.START_OBJECT) {
            Set<String> names = new HashSet<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                if (!names.add(p.currentName())) {
                    return p.currentName();
                }
                p.nextToken();
                String twice = skip(p);
                if (twice != null) {
                    return twice;
                }
            }
        } else if (p.currentToken() == JsonToken.START_ARRAY) {
            while (p.nextToken() != JsonToken.END_ARRAY) {
                String twice = skip(p);
                if (twice != null) {
                    return twice;
                }
            }
        }
        return null;
    }
}
