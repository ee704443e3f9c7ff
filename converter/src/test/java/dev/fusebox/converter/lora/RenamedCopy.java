package dev.fusebox.converter.lora;

import dev.fusebox.converter.checkpoint.Checkpoint;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Asserts that an adapter written by a conversion holds every tensor of its source, byte for byte, renamed only. */
final class RenamedCopy {

    private RenamedCopy() {
    }

    /**
     * Every tensor of {@code from} is in {@code to} and nothing else, byte for byte, under its key with each of
     * {@code renames}' keys (parts of a tensor key) replaced by its value.
     */
    static void assertRenamedCopy(Path from, Path to, Map<String, String> renames) throws Exception {
        try (Checkpoint a = Checkpoint.open(from); Checkpoint b = Checkpoint.open(to)) {
            assertThat(b.tensors().keySet()).hasSameSizeAs(a.tensors().keySet());
            for (String key : a.tensors().keySet()) {
                String renamed = key;
                for (Map.Entry<String, String> r : renames.entrySet()) {
                    renamed = renamed.replace(r.getKey(), r.getValue());
                }
                assertThat(b.tensor(renamed)).as(renamed).isPresent();
                assertThat(b.tensor(renamed).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE)).as(renamed)
                        .isEqualTo(a.tensor(key).orElseThrow().data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }
}
