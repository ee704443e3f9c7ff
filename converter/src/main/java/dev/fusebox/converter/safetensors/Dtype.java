package dev.fusebox.converter.safetensors;

import java.util.Optional;

/**
 * The element types of the safetensors format that Fusebox accepts. Every one can be copied; the float types
 * but the 8-bit ones can also be decoded to float for statistics and the forward pass.
 */
public enum Dtype {
    F64(8, "float64", true),
    F32(4, "float32", true),
    F16(2, "float16", true),
    BF16(2, "bfloat16", true),
    I64(8, "int64", false),
    I32(4, "int32", false),
    I16(2, "int16", false),
    I8(1, "int8", false),
    U64(8, "uint64", false),
    U32(4, "uint32", false),
    U16(2, "uint16", false),
    U8(1, "uint8", false),
    BOOL(1, "bool", false),
    F8_E4M3(1, "float8_e4m3fn", false),
    F8_E5M2(1, "float8_e5m2", false);

    private final int byteSize;
    private final String torchName;
    private final boolean decodable;

    Dtype(int byteSize, String torchName, boolean decodable) {
        this.byteSize = byteSize;
        this.torchName = torchName;
        this.decodable = decodable;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The name torch and config.json use ({@code torch_dtype} / {@code dtype}). */
    public String torchName() {
        return torchName;
    }

    /** Whether {@code FloatDecoder} can turn elements of this type into floats. */
    public boolean decodable() {
        return decodable;
    }

    /** The dtype of a safetensors header entry, by its exact name. */
    public static Optional<Dtype> fromHeaderName(String name) {
        for (Dtype d : values()) {
            if (d.name().equals(name)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /** The dtype named by config.json, with or without a {@code torch.} prefix. */
    public static Optional<Dtype> fromTorchName(String name) {
        String n = name.startsWith("torch.") ? name.substring("torch.".length()) : name;
        for (Dtype d : values()) {
            if (d.torchName.equals(n)) {
                return Optional.of(d);
            }
        }
        return switch (n) {
            case "float", "fp32" -> Optional.of(F32);
            case "half", "fp16" -> Optional.of(F16);
            case "double" -> Optional.of(F64);
            case "bf16" -> Optional.of(BF16);
            default -> Optional.empty();
        };
    }
}
