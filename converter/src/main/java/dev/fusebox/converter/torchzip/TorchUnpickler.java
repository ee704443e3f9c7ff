package dev.fusebox.converter.torchzip;

import dev.fusebox.converter.FuseboxException;
import dev.fusebox.converter.Problem;
import dev.fusebox.converter.tensor.Dtype;
import dev.fusebox.converter.torchzip.PickleValue.PyBool;
import dev.fusebox.converter.torchzip.PickleValue.PyBytes;
import dev.fusebox.converter.torchzip.PickleValue.PyDict;
import dev.fusebox.converter.torchzip.PickleValue.PyFloat;
import dev.fusebox.converter.torchzip.PickleValue.PyGlobal;
import dev.fusebox.converter.torchzip.PickleValue.PyInt;
import dev.fusebox.converter.torchzip.PickleValue.PyList;
import dev.fusebox.converter.torchzip.PickleValue.PyNone;
import dev.fusebox.converter.torchzip.PickleValue.PyStr;
import dev.fusebox.converter.torchzip.PickleValue.PyTuple;
import dev.fusebox.converter.torchzip.PickleValue.Storage;
import dev.fusebox.converter.torchzip.PickleValue.Tensor;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A restricted unpickler for the pickle torch.save writes for a state dict: it knows the binary opcodes of
 * protocols 2 to 5 that build plain data (ints, floats, strings, tuples, lists, dicts, the memo), the admitted
 * {@link TorchGlobal}s and torch's storage persistent ids. Calling a global means building a {@link Tensor} or an
 * empty dict in Java; any other global, any opcode that builds arbitrary objects, and any other persistent id is
 * refused with the byte where it stands. It loads no class and runs nothing the file names.
 *
 * <p>The machine is iterative (no recursion on nesting) and charges an estimate of the memory of every value it
 * builds against {@link #MAX_VALUE_BYTES}, so a hostile pickle cannot exhaust the heap or the stack. torch.save
 * memoizes nearly every value, so what is built stays alive: a real state dict costs about 14 bytes of heap per
 * byte of pickle, and the budget admits about 130 000 tensors.
 */
final class TorchUnpickler {

    /** Estimated bytes of values one pickle may build: far above a real state dict's needs, far below the heap. */
    static final long MAX_VALUE_BYTES = 256L * 1024 * 1024;

    private final Path file;
    private final byte[] in;
    private int pos;
    private final ArrayList<PickleValue> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final Map<Long, PickleValue> memo = new HashMap<>();
    private long charged;
    private int opcodeAt;

    private TorchUnpickler(Path file, byte[] in) {
        this.file = file;
        this.in = in;
    }

    /** Runs the pickle {@code data} (the data.pkl of {@code file}) and returns the value it builds. */
    static PickleValue load(Path file, byte[] data) throws FuseboxException {
        return new TorchUnpickler(file, data).run();
    }

    private PickleValue run() throws FuseboxException {
        while (pos < in.length) {
            opcodeAt = pos;
            int op = in[pos++] & 0xFF;
            switch (op) {
                case 0x80 -> { // PROTO
                    int version = u8();
                    if (version < 2 || version > 5) {
                        throw invalid("uses pickle protocol " + version + "; torch.save writes protocol 2");
                    }
                }
                case 0x95 -> { // FRAME: a length hint only
                    long n = u64();
                    if (n < 0 || n > in.length - pos) {
                        throw invalid("has a FRAME longer than the rest of the pickle");
                    }
                }
                case '.' -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw invalid("stops with " + stack.size() + " values on its stack instead of one");
                    }
                    if (pos != in.length) {
                        throw invalid("has " + (in.length - pos) + " bytes after its STOP opcode");
                    }
                    return stack.getFirst();
                }
                case '(' -> { // MARK
                    charge(16);
                    marks.add(stack.size());
                }
                case '0' -> pop(); // POP
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case 'N' -> push(PyNone.NONE);
                case 0x88 -> push(new PyBool(true)); // NEWTRUE
                case 0x89 -> push(new PyBool(false)); // NEWFALSE
                case 'J' -> push(new PyInt(s32())); // BININT
                case 'K' -> push(new PyInt(u8())); // BININT1
                case 'M' -> push(new PyInt(u16())); // BININT2
                case 0x8a -> push(new PyInt(long1())); // LONG1
                case 'G' -> push(new PyFloat(Double.longBitsToDouble(beLong()))); // BINFLOAT
                case 'X' -> push(string(u32())); // BINUNICODE
                case 0x8c -> push(string(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(string(u64())); // BINUNICODE8
                case 'C' -> push(bytes(u8())); // SHORT_BINBYTES
                case 'B' -> push(bytes(u32())); // BINBYTES
                case 0x8e -> push(bytes(u64())); // BINBYTES8
                case ')' -> push(new PyTuple(List.of())); // EMPTY_TUPLE
                case 't' -> push(tuple(popMark())); // TUPLE
                case 0x85 -> push(tuple(popN(1))); // TUPLE1
                case 0x86 -> push(tuple(popN(2))); // TUPLE2
                case 0x87 -> push(tuple(popN(3))); // TUPLE3
                case ']' -> push(list(List.of())); // EMPTY_LIST
                case 'l' -> push(list(popMark())); // LIST
                case 'a' -> append(List.of(pop())); // APPEND
                case 'e' -> append(popMark()); // APPENDS
                case '}' -> push(dict()); // EMPTY_DICT
                case 'd' -> { // DICT
                    PyDict d = dict();
                    setItems(d, popMark());
                    push(d);
                }
                case 's' -> { // SETITEM
                    List<PickleValue> kv = popN(2);
                    setItems(peekDict("SETITEM"), kv);
                }
                case 'u' -> { // SETITEMS
                    List<PickleValue> kv = popMark();
                    setItems(peekDict("SETITEMS"), kv);
                }
                case 'q' -> memoize(u8()); // BINPUT
                case 'r' -> memoize(u32()); // LONG_BINPUT
                case 0x94 -> memoize(memo.size()); // MEMOIZE
                case 'h' -> push(recall(u8())); // BINGET
                case 'j' -> push(recall(u32())); // LONG_BINGET
                case 'c' -> push(global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    List<PickleValue> names = popN(2);
                    if (!(names.get(0) instanceof PyStr module) || !(names.get(1) instanceof PyStr name)) {
                        throw invalid("names a STACK_GLOBAL with values that are not strings");
                    }
                    push(global(module.value(), name.value()));
                }
                case 'R' -> { // REDUCE
                    PickleValue args = pop();
                    push(reduce(pop(), args));
                }
                case 'b' -> { // BUILD
                    PickleValue state = pop();
                    build(peek(), state);
                }
                case 'Q' -> push(persistent(pop())); // BINPERSID
                default -> throw unknownOpcode(op);
            }
        }
        throw invalid("ends without a STOP opcode; data.pkl is truncated");
    }

    private FuseboxException unknownOpcode(int op) {
        String name = switch (op) {
            case 'i' -> "INST";
            case 'o' -> "OBJ";
            case 0x81 -> "NEWOBJ";
            case 0x92 -> "NEWOBJ_EX";
            case 0x82, 0x83, 0x84 -> "EXT";
            case 'P' -> "PERSID";
            case 0x8f, 0x90, 0x91 -> "set-building";
            case 0x96, 0x97, 0x98 -> "out-of-band buffer";
            default -> null;
        };
        if (name != null) {
            return refused("holds the " + name + " opcode (0x" + Integer.toHexString(op)
                    + "), which builds objects torch.save never writes");
        }
        if ("IFLSVpgTU".indexOf(op) >= 0) {
            return invalid("holds the text-protocol opcode '" + (char) op + "', which torch.save (protocol 2) "
                    + "never writes");
        }
        return invalid("holds the byte 0x" + Integer.toHexString(op) + ", which is not a pickle opcode "
                + "Fusebox reads; the file is damaged or not a PyTorch state dict");
    }

    private PickleValue global(String module, String name) throws FuseboxException {
        var admitted = TorchGlobal.admit(module, name);
        if (admitted.isPresent()) {
            charge(64);
            return new PyGlobal(admitted.get());
        }
        String shown = StoredZip.printable(module) + "." + StoredZip.printable(name);
        if (TorchGlobal.isUnsupportedTorchType(module, name)) {
            throw new FuseboxException(Problem.UNSUPPORTED, file, "data.pkl byte " + opcodeAt + " names "
                    + shown + ", a torch type that has no dtype in safetensors or Fusebox");
        }
        throw refused("refuses the global " + shown + ": a state dict of tensors needs only torch's "
                + "tensor-rebuild functions, so this file would run other code if Python loaded it (Fusebox never "
                + "runs it)");
    }

    private PickleValue reduce(PickleValue callable, PickleValue arguments) throws FuseboxException {
        if (!(callable instanceof PyGlobal(TorchGlobal g))) {
            throw refused("calls a " + callable.kind() + ", which is not a function torch.save calls");
        }
        if (!(arguments instanceof PyTuple(List<PickleValue> args))) {
            throw invalid("calls " + g.qualifiedName() + " with a " + arguments.kind() + " instead of a tuple");
        }
        return switch (g.role()) {
            case ORDERED_DICT -> {
                if (!args.isEmpty()) {
                    throw invalid("calls collections.OrderedDict with arguments; torch.save calls it with none");
                }
                yield dict();
            }
            case REBUILD_TENSOR_V2, REBUILD_TENSOR_V3 -> tensor(g, args);
            case REBUILD_PARAMETER -> {
                if (args.size() != 3 || !(args.get(0) instanceof Tensor t) || !(args.get(1) instanceof PyBool)
                        || !(args.get(2) instanceof PyDict)) {
                    throw invalid("calls " + g.qualifiedName() + " with arguments other than (tensor, bool, dict)");
                }
                yield t;
            }
            case TYPED_STORAGE, UNTYPED_STORAGE, DTYPE ->
                    throw refused("calls " + g.qualifiedName() + ", which torch.save only names and never calls");
        };
    }

    private Tensor tensor(TorchGlobal g, List<PickleValue> args) throws FuseboxException {
        boolean v3 = g.role() == TorchGlobal.Role.REBUILD_TENSOR_V3;
        int required = v3 ? 7 : 6;
        if (args.size() != required && args.size() != required + 1) {
            throw invalid("calls " + g.qualifiedName() + " with " + args.size() + " arguments instead of "
                    + required + " or " + (required + 1));
        }
        if (!(args.get(0) instanceof Storage storage) || !(args.get(1) instanceof PyInt(long offset))
                || !(args.get(2) instanceof PyTuple size) || !(args.get(3) instanceof PyTuple stride)
                || !(args.get(4) instanceof PyBool) || !(args.get(5) instanceof PyDict)) {
            throw invalid("calls " + g.qualifiedName() + " with arguments other than (storage, offset, size, "
                    + "stride, requires_grad, hooks, ...)");
        }
        Dtype dtype = storage.dtype();
        if (v3) {
            if (!(args.get(6) instanceof PyGlobal(TorchGlobal d)) || d.role() != TorchGlobal.Role.DTYPE) {
                throw invalid("calls " + g.qualifiedName() + " without a torch dtype as its seventh argument");
            }
            if (storage.dtype() != null) {
                throw invalid("calls " + g.qualifiedName() + " on a typed storage; it takes an untyped one");
            }
            dtype = d.dtype();
        } else if (dtype == null) {
            throw invalid("calls " + g.qualifiedName() + " on an untyped storage without a dtype");
        }
        PickleValue metadata = args.size() > required ? args.get(required) : PyNone.NONE;
        if (!(metadata instanceof PyNone) && !(metadata instanceof PyDict)) {
            throw invalid("gives a tensor metadata of type " + metadata.kind() + " instead of a dict");
        }
        if (offset < 0) {
            throw invalid("gives a tensor the negative storage offset " + offset);
        }
        long[] shape = longs(size, "size");
        long[] strides = longs(stride, "stride");
        if (shape.length != strides.length) {
            throw invalid("gives a tensor " + shape.length + " sizes but " + strides.length + " strides");
        }
        charge(96 + 16L * shape.length);
        return new Tensor(storage, dtype, offset, shape, strides);
    }

    private long[] longs(PyTuple tuple, String what) throws FuseboxException {
        List<PickleValue> items = tuple.items();
        if (items.size() > 64) {
            throw invalid("gives a tensor " + items.size() + " dimensions; Fusebox reads at most 64");
        }
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(items.get(i) instanceof PyInt(long v)) || v < 0) {
                throw invalid("gives a tensor a " + what + " that is not a tuple of non-negative ints");
            }
            out[i] = v;
        }
        return out;
    }

    private Storage persistent(PickleValue pid) throws FuseboxException {
        if (pid instanceof PyTuple(List<PickleValue> t) && t.size() == 5 && t.get(0) instanceof PyStr(String tag)
                && tag.equals("storage") && t.get(1) instanceof PyGlobal(TorchGlobal type)
                && (type.role() == TorchGlobal.Role.TYPED_STORAGE || type.role() == TorchGlobal.Role.UNTYPED_STORAGE)
                && t.get(2) instanceof PyStr(String key) && t.get(3) instanceof PyStr(String location)
                && t.get(4) instanceof PyInt(long numel) && numel >= 0) {
            charge(96 + 2L * key.length() + 2L * location.length());
            return new Storage(key, type.dtype(), numel, location);
        }
        throw refused("refuses a persistent id of type " + pid.kind() + " that is not torch.save's "
                + "('storage', storage type, key, location, size)");
    }

    private void build(PickleValue target, PickleValue state) throws FuseboxException {
        if (!(target instanceof PyDict) || !(state instanceof PyDict || state instanceof PyNone)) {
            throw refused("sets the state of a " + target.kind() + " from a " + state.kind()
                    + "; torch.save only sets a state dict's _metadata");
        }
    }

    private void append(List<PickleValue> values) throws FuseboxException {
        if (!(peek() instanceof PyList(ArrayList<PickleValue> items))) {
            throw invalid("appends to a " + peek().kind() + ", which is not a list");
        }
        charge(8L * values.size());
        items.addAll(values);
    }

    private PyDict peekDict(String opcode) throws FuseboxException {
        if (!(peek() instanceof PyDict d)) {
            throw invalid("uses " + opcode + " on a " + peek().kind() + ", which is not a dict");
        }
        return d;
    }

    private void setItems(PyDict dict, List<PickleValue> keysAndValues) throws FuseboxException {
        if (keysAndValues.size() % 2 != 0) {
            throw invalid("sets dict items from an odd number of values");
        }
        charge(48L * keysAndValues.size() / 2);
        for (int i = 0; i < keysAndValues.size(); i += 2) {
            PickleValue key = keysAndValues.get(i);
            if (!(key instanceof PyStr) && !(key instanceof PyInt)) {
                throw invalid("uses a " + key.kind() + " as a dict key; a state dict's keys are strings");
            }
            dict.items().put(key, keysAndValues.get(i + 1));
        }
    }

    private PyDict dict() throws FuseboxException {
        charge(96);
        return new PyDict(new LinkedHashMap<>());
    }

    private PyList list(List<PickleValue> items) throws FuseboxException {
        charge(64 + 8L * items.size());
        return new PyList(new ArrayList<>(items));
    }

    private PyTuple tuple(List<PickleValue> items) throws FuseboxException {
        charge(16 + 8L * items.size());
        return new PyTuple(items);
    }

    private void memoize(long index) throws FuseboxException {
        charge(64);
        memo.put(index, peek());
    }

    private PickleValue recall(long index) throws FuseboxException {
        PickleValue v = memo.get(index);
        if (v == null) {
            throw invalid("recalls memo entry " + index + ", which was never stored");
        }
        return v;
    }

    private void push(PickleValue v) throws FuseboxException {
        charge(24);
        stack.add(v);
    }

    private PickleValue peek() throws FuseboxException {
        int floor = marks.isEmpty() ? 0 : marks.getLast();
        if (stack.size() <= floor) {
            throw invalid("reads a value from an empty stack");
        }
        return stack.getLast();
    }

    private PickleValue pop() throws FuseboxException {
        PickleValue v = peek();
        stack.removeLast();
        return v;
    }

    private List<PickleValue> popN(int n) throws FuseboxException {
        int floor = marks.isEmpty() ? 0 : marks.getLast();
        if (stack.size() - floor < n) {
            throw invalid("reads " + n + " values from a stack holding fewer");
        }
        List<PickleValue> top = new ArrayList<>(stack.subList(stack.size() - n, stack.size()));
        stack.subList(stack.size() - n, stack.size()).clear();
        return top;
    }

    private List<PickleValue> popMark() throws FuseboxException {
        if (marks.isEmpty()) {
            throw invalid("closes a MARK that was never opened");
        }
        int mark = marks.removeLast();
        List<PickleValue> top = new ArrayList<>(stack.subList(mark, stack.size()));
        stack.subList(mark, stack.size()).clear();
        return top;
    }

    private PyStr string(long length) throws FuseboxException {
        int n = length(length);
        charge(48 + 2L * n);
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(in, pos, n)).toString();
            pos += n;
            return new PyStr(s);
        } catch (CharacterCodingException e) {
            throw invalid("holds a string that is not valid UTF-8");
        }
    }

    private PyBytes bytes(long length) throws FuseboxException {
        int n = length(length);
        pos += n;
        return new PyBytes(n);
    }

    private int length(long length) throws FuseboxException {
        if (length < 0 || length > in.length - pos) {
            throw invalid("holds a string or bytes of " + Long.toUnsignedString(length)
                    + " bytes, longer than the rest of the pickle; data.pkl is truncated");
        }
        return (int) length;
    }

    private String line() throws FuseboxException {
        int start = pos;
        while (pos < in.length && in[pos] != '\n') {
            if (pos - start > 256) {
                throw invalid("names a global longer than 256 bytes");
            }
            pos++;
        }
        if (pos >= in.length) {
            throw invalid("ends inside a GLOBAL opcode; data.pkl is truncated");
        }
        String s = new String(in, start, pos - start, StandardCharsets.ISO_8859_1);
        pos++;
        return s;
    }

    private long long1() throws FuseboxException {
        int n = u8();
        if (n > 8) {
            throw invalid("holds an integer of " + n + " bytes, more than 64 bits");
        }
        need(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = (v << 8) | (in[pos + i] & 0xFF);
        }
        if (n > 0 && n < 8) {
            v = (v << (64 - 8 * n)) >> (64 - 8 * n);
        }
        pos += n;
        return v;
    }

    private int u8() throws FuseboxException {
        need(1);
        return in[pos++] & 0xFF;
    }

    private int u16() throws FuseboxException {
        need(2);
        int v = (in[pos] & 0xFF) | (in[pos + 1] & 0xFF) << 8;
        pos += 2;
        return v;
    }

    private int s32() throws FuseboxException {
        need(4);
        int v = (in[pos] & 0xFF) | (in[pos + 1] & 0xFF) << 8 | (in[pos + 2] & 0xFF) << 16 | (in[pos + 3] & 0xFF) << 24;
        pos += 4;
        return v;
    }

    private long u32() throws FuseboxException {
        return Integer.toUnsignedLong(s32());
    }

    private long u64() throws FuseboxException {
        need(8);
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (in[pos + i] & 0xFF);
        }
        pos += 8;
        return v;
    }

    private long beLong() throws FuseboxException {
        need(8);
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (in[pos + i] & 0xFF);
        }
        pos += 8;
        return v;
    }

    private void need(int n) throws FuseboxException {
        if (in.length - pos < n) {
            throw invalid("ends inside an opcode; data.pkl is truncated");
        }
    }

    private void charge(long bytes) throws FuseboxException {
        charged += bytes;
        if (charged > MAX_VALUE_BYTES) {
            throw invalid("builds more than " + (MAX_VALUE_BYTES >> 20) + " MiB of values (a state dict of about "
                    + "130 000 tensors would); Fusebox stops reading it");
        }
    }

    private FuseboxException invalid(String detail) {
        return new FuseboxException(Problem.INVALID_PICKLE, file, "data.pkl byte " + opcodeAt + ": " + detail);
    }

    private FuseboxException refused(String detail) {
        return new FuseboxException(Problem.REFUSED_PICKLE, file, "data.pkl byte " + opcodeAt + ": " + detail);
    }
}
