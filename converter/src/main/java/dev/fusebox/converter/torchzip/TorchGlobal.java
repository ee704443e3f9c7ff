package dev.fusebox.converter.torchzip;

import dev.fusebox.converter.tensor.Dtype;

import java.util.Map;
import java.util.Optional;

/**
 * A global the unpickler admits: the closed list of names torch.save writes for a state dict of tensors. A name
 * is matched as text and mapped to what it means here; no class is loaded and nothing named by the file runs.
 *
 * @param dtype the element type of a typed storage class or of a dtype global; null for the others
 */
record TorchGlobal(String module, String name, Role role, Dtype dtype) {

    enum Role {
        /** {@code torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])}. */
        REBUILD_TENSOR_V2,
        /** {@code _rebuild_tensor_v3(untyped storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])}. */
        REBUILD_TENSOR_V3,
        /** {@code torch._utils._rebuild_parameter(tensor, requires_grad, hooks)}: an nn.Parameter is its tensor. */
        REBUILD_PARAMETER,
        /** {@code collections.OrderedDict()}: the state dict itself and the empty backward-hooks dicts. */
        ORDERED_DICT,
        /** {@code torch.FloatStorage} and its kin, named in a storage's persistent id. */
        TYPED_STORAGE,
        /** {@code torch.UntypedStorage}, named in the persistent id of a v3 tensor's storage. */
        UNTYPED_STORAGE,
        /** {@code torch.float8_e4m3fn} and the other dtypes, the last argument of a v3 rebuild. */
        DTYPE
    }

    /** The legacy typed storage classes torch.save still names, and their dtypes. */
    private static final Map<String, Dtype> TYPED_STORAGES = Map.of(
            "DoubleStorage", Dtype.F64,
            "FloatStorage", Dtype.F32,
            "HalfStorage", Dtype.F16,
            "BFloat16Storage", Dtype.BF16,
            "LongStorage", Dtype.I64,
            "IntStorage", Dtype.I32,
            "ShortStorage", Dtype.I16,
            "CharStorage", Dtype.I8,
            "ByteStorage", Dtype.U8,
            "BoolStorage", Dtype.BOOL);

    String qualifiedName() {
        return module + "." + name;
    }

    /** The admitted global of this name, if it is one. */
    static Optional<TorchGlobal> admit(String module, String name) {
        boolean torch = module.equals("torch");
        boolean storageModule = torch || module.equals("torch.storage");
        Role role = null;
        Dtype dtype = null;
        if (module.equals("torch._utils")) {
            role = switch (name) {
                case "_rebuild_tensor_v2" -> Role.REBUILD_TENSOR_V2;
                case "_rebuild_tensor_v3" -> Role.REBUILD_TENSOR_V3;
                case "_rebuild_parameter" -> Role.REBUILD_PARAMETER;
                default -> null;
            };
        } else if (module.equals("collections") && name.equals("OrderedDict")) {
            role = Role.ORDERED_DICT;
        } else if (storageModule && TYPED_STORAGES.containsKey(name)) {
            role = Role.TYPED_STORAGE;
            dtype = TYPED_STORAGES.get(name);
        } else if (storageModule && name.equals("UntypedStorage")) {
            role = Role.UNTYPED_STORAGE;
        } else if (torch && !name.contains(".") && Dtype.fromTorchName(name).isPresent()
                && Dtype.fromTorchName(name).get().torchName().equals(name)) {
            role = Role.DTYPE;
            dtype = Dtype.fromTorchName(name).get();
        }
        return role == null ? Optional.empty() : Optional.of(new TorchGlobal(module, name, role, dtype));
    }

    /** Whether the name is a torch storage class or dtype that Fusebox has no dtype for (complex, quantized). */
    static boolean isUnsupportedTorchType(String module, String name) {
        return (module.equals("torch") || module.equals("torch.storage"))
                && (name.endsWith("Storage") || name.startsWith("complex") || name.startsWith("q")
                        || name.startsWith("float4") || name.startsWith("float8_e8") || name.startsWith("uint")
                        || name.startsWith("int") || name.startsWith("bits"));
    }
}
