package dev.fusebox.converter.torchzip;

import dev.fusebox.converter.tensor.Dtype;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * What the restricted unpickler can build: plain data, the few torch globals it admits (as names, never
 * resolved to code), storage references and tensors. Nothing else can exist on its stack.
 */
sealed interface PickleValue {

    /** A short name of the kind of value, for messages (never the value itself, which may be huge or nested). */
    String kind();

    record PyNone() implements PickleValue {
        static final PyNone NONE = new PyNone();

        @Override
        public String kind() {
            return "None";
        }
    }

    record PyBool(boolean value) implements PickleValue {
        @Override
        public String kind() {
            return "bool";
        }
    }

    record PyInt(long value) implements PickleValue {
        @Override
        public String kind() {
            return "int";
        }
    }

    record PyFloat(double value) implements PickleValue {
        @Override
        public String kind() {
            return "float";
        }
    }

    record PyStr(String value) implements PickleValue {
        @Override
        public String kind() {
            return "str";
        }
    }

    /** Bytes are never needed to rebuild tensors; only their length is kept. */
    record PyBytes(long length) implements PickleValue {
        @Override
        public String kind() {
            return "bytes";
        }
    }

    record PyTuple(List<PickleValue> items) implements PickleValue {
        public PyTuple {
            items = List.copyOf(items);
        }

        @Override
        public String kind() {
            return "tuple";
        }
    }

    record PyList(ArrayList<PickleValue> items) implements PickleValue {
        @Override
        public String kind() {
            return "list";
        }
    }

    /** A dict or OrderedDict; keys are strings or ints only, so hashing them never recurses. */
    record PyDict(LinkedHashMap<PickleValue, PickleValue> items) implements PickleValue {
        @Override
        public String kind() {
            return "dict";
        }
    }

    /** One of the admitted torch globals, by name. */
    record PyGlobal(TorchGlobal global) implements PickleValue {
        @Override
        public String kind() {
            return global.qualifiedName();
        }
    }

    /**
     * A storage as torch.save's persistent id names it: the zip entry {@code data/<key>} holding {@code numel}
     * elements of {@code dtype}, or bytes when the storage is untyped ({@code dtype} null).
     */
    record Storage(String key, Dtype dtype, long numel, String location) implements PickleValue {
        @Override
        public String kind() {
            return "storage";
        }

        long elementBytes() {
            return dtype == null ? 1 : dtype.byteSize();
        }
    }

    /** A tensor as a rebuild call describes it: a view of a storage, in elements of {@code dtype}. */
    record Tensor(Storage storage, Dtype dtype, long storageOffset, long[] shape, long[] stride)
            implements PickleValue {
        @Override
        public String kind() {
            return "tensor";
        }
    }
}
