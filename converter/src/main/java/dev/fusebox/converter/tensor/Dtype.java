package dev.fusebox.converter.tensor;

import java.util.Optional;

/**
 * The element types of the safetensors format, all of them, with their sizes in bits as the reference crate gives
 * them ({@code Dtype::bitsize}): F4 and F6_* elements are smaller than a byte, so a tensor of them is valid only
 * when its elements make whole bytes. Every one can be copied; the float types but the 8-bit and smaller ones
 * can also be decoded to float for statistics and the forward pass.
 */
public enum Dtype {
    F64(64, "float64", true),
    F32(32, "float32", true),
    F16(16, "float16", true),
    BF16(16, "bfloat16", true),
    I64(64, "int64", false),
    I32(32, "int32", false),
    I16(16, "int16", false),
    I8(8, "int8", false),
    U64(64, "uint64", false),
    U32(32, "uint32", false),
    U16(16, "uint16", false),
    U8(8, "uint8", false),
    BOOL(8, "bool", false),
    F8_E4M3(8, "float8_e4m3fn", false),
    F8_E5M2(8, "float8_e5m2", false),
    /** The OCP MX scale type: an 8-bit exponent. */
    F8_E8M0(8, "float8_e8m0fnu", false),
    F8_E4M3FNUZ(8, "float8_e4m3fnuz", false),
    F8_E5M2FNUZ(8, "float8_e5m2fnuz", false),
    F6_E2M3(6, "float6_e2m3fn", false),
    F6_E3M2(6, "float6_e3m2fn", false),
    /** MXFP4's element, E2M1: two to a byte. */
    F4(4, "float4_e2m1fn", false),
    /** A complex number of two F32 parts. */
    C64(64, "complex64", false);

    private final int bits;
    private final String torchName;
    private final boolean decodable;

    Dtype(int bits, String torchName, boolean decodable) {
        this.bits = bits;
        this.torchName = torchName;
        this.decodable = decodable;
    }

    /** Bits per element. */
    public int bits() {
        return bits;
    }

    /** Whether an element fills one or more whole bytes (false for F4 and F6_*). */
    public boolean wholeBytes() {
        return bits % 8 == 0;
    }

    /**
     * Bytes per element, for a dtype whose elements are whole bytes; a sub-byte dtype has no such size (ask a
     * {@link Shape} for a tensor's bytes), and asking throws.
     */
    public int byteSize() {
        if (!wholeBytes()) {
            throw new UnsupportedOperationException(name() + " elements are " + bits + " bits, less than a byte");
        }
        return bits / 8;
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
