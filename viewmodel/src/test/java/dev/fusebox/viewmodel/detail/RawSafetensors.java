package dev.fusebox.viewmodel.detail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The float32 values of one tensor of a .safetensors file, read by hand from the format's definition (an 8-byte
 * little-endian header length, a JSON header of offsets, the data), so that tests compare Fusebox's reading with
 * one that shares none of its code.
 */
final class RawSafetensors {

    private RawSafetensors() {
    }

    static float[] f32(Path file, String key) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) b.getLong(0);
        JsonNode entry = new ObjectMapper().readTree(new String(all, 8, n, StandardCharsets.UTF_8)).get(key);
        if (entry == null || !entry.get("dtype").asText().equals("F32")) {
            throw new IllegalArgumentException(key + " is not a float32 tensor of " + file);
        }
        int begin = entry.get("data_offsets").get(0).asInt();
        int end = entry.get("data_offsets").get(1).asInt();
        float[] out = new float[(end - begin) / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.getFloat(8 + n + begin + 4 * i);
        }
        return out;
    }
}
