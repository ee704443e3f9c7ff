package dev.fusebox.converter;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

class JsonValuesTest {

    private static JsonParser at(String json) throws IOException {
        JsonParser p = new JsonFactory().createParser("[" + json + ", \"after\"]");
        p.nextToken();
        p.nextToken();
        return p;
    }

    @Test
    void skipsAWholeValueAndStopsAtItsEnd() throws IOException {
        for (String value : new String[] {"1", "\"s\"", "null", "{\"a\": [1, {\"b\": 2}], \"c\": {}}", "[[], [1, 2]]"}) {
            JsonParser p = at(value);
            assertThat(JsonValues.skip(p)).isNull();
            assertThat(p.nextToken()).as(value).isEqualTo(JsonToken.VALUE_STRING);
            assertThat(p.getText()).isEqualTo("after");
        }
    }

    @Test
    void findsANameGivenTwiceAtAnyDepth() throws IOException {
        assertThat(JsonValues.skip(at("{\"a\": 1, \"a\": 2}"))).isEqualTo("a");
        assertThat(JsonValues.skip(at("{\"x\": [0, {\"k\": 1, \"j\": 2, \"k\": 3}]}"))).isEqualTo("k");
        assertThat(JsonValues.skip(at("[{\"a\": 1}, {\"a\": 1}]"))).isNull();
    }
}
