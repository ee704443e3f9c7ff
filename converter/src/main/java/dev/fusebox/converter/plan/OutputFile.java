package dev.fusebox.converter.plan;

import java.util.Arrays;

/** A small file a plan writes beside its tensors, whole (an adapter's rewritten adapter_config.json). */
public record OutputFile(String name, byte[] content) {

    public OutputFile {
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
            throw new IllegalArgumentException("an output file needs a plain file name, not '" + name + "'");
        }
        content = content.clone();
    }

    @Override
    public byte[] content() {
        return content.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OutputFile f && f.name.equals(name) && Arrays.equals(f.content, content);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(content);
    }

    @Override
    public String toString() {
        return name + " (" + content.length + " bytes)";
    }
}
