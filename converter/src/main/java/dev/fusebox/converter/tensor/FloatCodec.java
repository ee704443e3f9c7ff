package dev.fusebox.converter.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Reads and writes the float dtypes of safetensors (little-endian F64, F32, F16, BF16) as Java floats and
 * doubles. BF16 is the upper half of an F32; writing rounds to nearest even, once, from the value given.
 */
public final class FloatCodec {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private FloatCodec() {
    }

    /** Element {@code index} of a tensor of {@code dtype} held in {@code data}. */
    public static double get(MemorySegment data, Dtype dtype, long index) {
        return switch (dtype) {
            case F64 -> data.getAtIndex(F64, index);
            case F32 -> data.getAtIndex(F32, index);
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, index));
            case BF16 -> bf16ToFloat(data.getAtIndex(I16, index));
            default -> throw new IllegalArgumentException(dtype + " is not a float dtype Fusebox decodes");
        };
    }

    /** Decodes {@code count} elements from {@code fromIndex} into {@code dst[dstOffset...]}. */
    public static void decode(MemorySegment data, Dtype dtype, long fromIndex, float[] dst, int dstOffset, int count) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, F32, fromIndex * 4, dst, dstOffset, count);
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = (float) data.getAtIndex(F64, fromIndex + i);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = Float.float16ToFloat(data.getAtIndex(I16, fromIndex + i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = bf16ToFloat(data.getAtIndex(I16, fromIndex + i));
                }
            }
            default -> throw new IllegalArgumentException(dtype + " is not a float dtype Fusebox decodes");
        }
    }

    /**
     * As {@link #decode(MemorySegment, Dtype, long, float[], int, int)} from element 0 to {@code dst[0…]}, faster for
     * the 16-bit dtypes: their bits are copied into {@code scratch} (at least {@code count} long) in one bulk copy,
     * and a loop over the array, which the JIT compiles to vector instructions, widens them.
     */
    public static void decode(MemorySegment data, Dtype dtype, float[] dst, int count, short[] scratch) {
        switch (dtype) {
            case BF16 -> {
                MemorySegment.copy(data, I16, 0, scratch, 0, count);
                for (int i = 0; i < count; i++) {
                    dst[i] = Float.intBitsToFloat(scratch[i] << 16);
                }
            }
            case F16 -> {
                MemorySegment.copy(data, I16, 0, scratch, 0, count);
                for (int i = 0; i < count; i++) {
                    dst[i] = Float.float16ToFloat(scratch[i]);
                }
            }
            default -> decode(data, dtype, 0, dst, 0, count);
        }
    }

    /** Writes {@code value} as element {@code index} of a tensor of {@code dtype}, rounding to nearest even. */
    public static void set(MemorySegment data, Dtype dtype, long index, double value) {
        switch (dtype) {
            case F64 -> data.setAtIndex(F64, index, value);
            case F32 -> data.setAtIndex(F32, index, (float) value);
            case F16 -> data.setAtIndex(I16, index, Float.floatToFloat16((float) roundToFormat(value, F16_FORMAT)));
            case BF16 -> data.setAtIndex(I16, index, doubleToBf16(value));
            default -> throw new IllegalArgumentException(dtype + " is not a float dtype Fusebox encodes");
        }
    }

    /** Round to nearest even straight from the double (through a float first, a value could round twice). */
    public static short doubleToBf16(double value) {
        if (Double.isNaN(value)) {
            return floatToBf16(Float.NaN);
        }
        // The rounded value has at most 8 significant bits inside float's range, so float holds it exactly.
        return (short) (Float.floatToRawIntBits((float) roundToFormat(value, BF16_FORMAT)) >>> 16);
    }

    /** A binary float format: stored significand bits, smallest normal exponent, largest exponent. */
    private record Format(int mantissaBits, int minExponent, int maxExponent) {
    }

    private static final Format BF16_FORMAT = new Format(7, -126, 127);
    private static final Format F16_FORMAT = new Format(10, -14, 15);

    /**
     * {@code value} rounded once, to nearest with ties to even, to a value of format {@code f} (infinite past
     * its range): dividing by the quantum, a power of two, is exact, so {@link Math#rint} sees the exact value.
     */
    private static double roundToFormat(double value, Format f) {
        if (!Double.isFinite(value) || value == 0) {
            return value;
        }
        int exponent = Math.max(Math.getExponent(value), f.minExponent());
        double quantum = Math.scalb(1.0, exponent - f.mantissaBits());
        double rounded = Math.rint(value / quantum) * quantum;
        if (Math.abs(rounded) >= Math.scalb(1.0, f.maxExponent() + 1)) {
            return Math.copySign(Double.POSITIVE_INFINITY, value);
        }
        return rounded;
    }

    /**
     * An F8_E4M3 (float8_e4m3fn) element as float, exactly as torch widens it: 1 sign, 4 exponent (bias 7) and 3
     * mantissa bits, no infinities; where exponent and mantissa are all ones, the NaN torch gives (0x7ff00000 with
     * the sign).
     */
    public static float e4m3ToFloat(byte bits) {
        int b = bits & 0xff;
        int exponent = (b >>> 3) & 0xf;
        int mantissa = b & 0x7;
        if (exponent == 0xf && mantissa == 0x7) {
            return Float.intBitsToFloat((b & 0x80) << 24 | 0x7ff00000);
        }
        float magnitude = exponent == 0 ? Math.scalb((float) mantissa, -9)
                : Math.scalb((float) (8 + mantissa), exponent - 10);
        return (b & 0x80) != 0 ? -magnitude : magnitude;
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Round to nearest even, NaN kept quiet, as torch converts float32 to bfloat16. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
