package dev.fusebox.converter.torchzip;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Hand-written pickles, opcode by opcode, for the tests of the restricted unpickler. */
final class PickleWriter {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static PickleWriter protocol2() {
        return new PickleWriter().op(0x80).op(2);
    }

    PickleWriter op(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    PickleWriter raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    PickleWriter global(String module, String name) {
        op('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        return this;
    }

    PickleWriter str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X').op(b.length & 0xFF, b.length >>> 8 & 0xFF, b.length >>> 16 & 0xFF, b.length >>> 24);
        out.writeBytes(b);
        return this;
    }

    PickleWriter integer(int v) {
        return op('J', v & 0xFF, v >>> 8 & 0xFF, v >>> 16 & 0xFF, v >>> 24 & 0xFF);
    }

    PickleWriter mark() {
        return op('(');
    }

    PickleWriter tuple() {
        return op('t');
    }

    PickleWriter reduce() {
        return op('R');
    }

    PickleWriter emptyDict() {
        return op('}');
    }

    PickleWriter emptyTuple() {
        return op(')');
    }

    PickleWriter setItem() {
        return op('s');
    }

    PickleWriter stop() {
        return op('.');
    }

    /** Pushes torch.save's persistent id of a storage: ('storage', torch.TYPE, key, 'cpu', numel). */
    PickleWriter storage(String type, String key, int numel) {
        return mark().str("storage").global("torch", type).str(key).str("cpu").integer(numel).tuple().op('Q');
    }

    /** Pushes an empty OrderedDict, as torch.save writes backward hooks. */
    PickleWriter orderedDict() {
        return global("collections", "OrderedDict").emptyTuple().reduce();
    }

    PickleWriter ints(long... values) {
        mark();
        for (long v : values) {
            integer((int) v);
        }
        return tuple();
    }

    /** Pushes a _rebuild_tensor_v2 call on the storage pushed by {@code storage}. */
    PickleWriter tensor(String type, String key, int numel, int offset, long[] shape, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(type, key, numel).integer(offset).ints(shape).ints(stride).op(0x89).orderedDict();
        return tuple().reduce();
    }

    /** A whole pickle: a dict holding one F32 tensor {@code w} of {@code shape} over storage "0". */
    static byte[] oneTensor(int numel, int offset, long[] shape, long[] stride) {
        return protocol2().emptyDict().str("w").tensor("FloatStorage", "0", numel, offset, shape, stride)
                .setItem().stop().bytes();
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
