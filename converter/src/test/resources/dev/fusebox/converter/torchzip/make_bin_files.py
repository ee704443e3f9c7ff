"""Makes the torch.save files the .bin reader is tested on, with the real torch (the Python oracle).

Run from the repository root:  $(tools/setup-python-oracle.sh) \
    converter/src/test/resources/dev/fusebox/converter/torchzip/make_bin_files.py

Good files (each with the tensors it must yield, as safetensors written by the safetensors library):
  attn_experts.adapter_model.bin   fixtures/mixtral-tiny/legacy-lora-attn_experts as PEFT saves a .bin adapter
                                   (torch.save of a plain dict); expected: that fixture's adapter_model.safetensors
  legacy-base.pytorch_model.bin    fixtures/mixtral-tiny/legacy-base as a pytorch_model.bin; converted to v5 it must
                                   equal fixtures/mixtral-tiny/v5-base.float32.safetensors
  sharded-legacy-base/             the same in two shards, pytorch_model-0000N-of-00002.bin, with the
                                   pytorch_model.bin.index.json transformers writes beside them
  variants.bin / variants.safetensors
                                   an OrderedDict with _metadata (as Module.state_dict() returns), every dtype
                                   torch pickles, an nn.Parameter, views sharing one storage at offsets, a scalar,
                                   an empty tensor, float8 and uint16 (written with _rebuild_tensor_v3)
  variants-zip64.bin               variants.bin rewritten with zip64 records (Python's zipfile, force_zip64)
Files the reader must refuse:
  transposed.bin                   a non-contiguous tensor (a transpose view)
  legacy-format.bin                torch.save(..., _use_new_zipfile_serialization=False), the pre-1.6 format
  big-endian.bin                   variants.bin with its byteorder record saying "big"
  deflated.bin                     variants.bin with every entry compressed (DEFLATED)
  os-system.bin                    a state dict whose value pickles as os.system("touch target/fusebox-PWNED") (GLOBAL + REDUCE)
  builtins-eval.bin                a value whose __reduce__ returns (eval, ("...",))
  exec-in-tensor-args.bin          a tensor-rebuild call whose backward hooks are an exec payload
"""
import collections
import io
import json
import os
import pathlib
import zipfile

import torch
from safetensors.torch import load_file, save_file

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[7]
FIXTURE = ROOT / "fixtures/mixtral-tiny/legacy-lora-attn_experts/adapter_model.safetensors"
BASE = ROOT / "fixtures/mixtral-tiny/legacy-base/model.safetensors"
# What a payload that ran would create: relative, so inside the build wherever it runs (Maven runs the reader's
# tests in converter/, so converter/target/fusebox-PWNED, where HostileTorchZipTest and BinAdapterTest look).
MARKER = "target/fusebox-PWNED"


def save(obj, name, **kwargs):
    torch.save(obj, HERE / name, **kwargs)


def rewrite(source, target, transform=lambda name, data: data, compression=zipfile.ZIP_STORED, zip64=False):
    """Copies a torch zip entry by entry, transforming the data; torch itself never compresses."""
    with zipfile.ZipFile(HERE / source) as src, zipfile.ZipFile(HERE / target, "w", compression) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, info.date_time)
            member.compress_type = compression
            with dst.open(member, "w", force_zip64=zip64) as out:
                out.write(transform(info.filename, src.read(info.filename)))


class Payload:
    """An object whose unpickling calls a function of the attacker's choice."""

    def __init__(self, function, argument):
        self.function = function
        self.argument = argument

    def __reduce__(self):
        return self.function, (self.argument,)


def adapter():
    tensors = load_file(FIXTURE)
    save(dict(tensors), "attn_experts.adapter_model.bin")


def base():
    save(collections.OrderedDict(load_file(BASE)), "legacy-base.pytorch_model.bin")


def sharded_base():
    """legacy-base in two torch.save shards with the index transformers writes beside them."""
    tensors = load_file(BASE)
    keys = sorted(tensors)
    shards = [keys[: len(keys) // 2], keys[len(keys) // 2:]]
    out = HERE / "sharded-legacy-base"
    out.mkdir(exist_ok=True)
    weight_map = {}
    for i, part in enumerate(shards, 1):
        name = f"pytorch_model-{i:05d}-of-{len(shards):05d}.bin"
        torch.save(collections.OrderedDict((k, tensors[k]) for k in part), out / name)
        weight_map.update({k: name for k in part})
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    with open(out / "pytorch_model.bin.index.json", "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")


def variants():
    base = torch.arange(12, dtype=torch.float32) * 0.5 - 1.0
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4, generator=torch.Generator().manual_seed(7))
    sd["f64"] = torch.linspace(-1, 1, 5, dtype=torch.float64)
    sd["f16"] = torch.tensor([[1.5, -2.25], [3.0, 65504.0]], dtype=torch.float16)
    sd["bf16"] = torch.tensor([1.0, -3.5, 1e30, 7.0], dtype=torch.bfloat16)
    sd["i64"] = torch.tensor([1, -2, 2**40], dtype=torch.int64)
    sd["i32"] = torch.tensor([[-7, 9]], dtype=torch.int32)
    sd["i16"] = torch.tensor([300, -300], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["f8"] = torch.tensor([0.5, -2.0, 448.0], dtype=torch.float8_e4m3fn)
    sd["u16"] = torch.tensor([1, 65535], dtype=torch.uint16)
    sd["param"] = torch.nn.Parameter(torch.tensor([[0.25, 0.75]]))
    sd["view.head"] = base[:4].view(2, 2)
    sd["view.tail"] = base[6:].view(3, 2)
    sd["view.middle"] = base[4:6]
    sd["scalar"] = torch.tensor(3.25)
    sd["empty"] = torch.zeros(0, 5)
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    save(sd, "variants.bin")
    save_file({k: v.detach().clone().contiguous() for k, v in sd.items()}, HERE / "variants.safetensors")


def refused():
    save({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3).t()}, "transposed.bin")
    save({"w": torch.ones(2)}, "legacy-format.bin", _use_new_zipfile_serialization=False)
    rewrite("variants.bin", "variants-zip64.bin", zip64=True)
    rewrite("variants.bin", "big-endian.bin", lambda n, d: b"big" if n.endswith("/byteorder") else d)
    rewrite("variants.bin", "deflated.bin", compression=zipfile.ZIP_DEFLATED)
    save({"w": torch.ones(2), "evil": Payload(os.system, "touch " + MARKER)}, "os-system.bin")
    save({"evil": Payload(eval, "__import__('os').system('touch " + MARKER + "')")}, "builtins-eval.bin")
    hooks = Payload(exec, "open('" + MARKER + "', 'w')")
    tensor_args = (torch.ones(2).untyped_storage(), 0, (2,), (1,), False, hooks)

    class Smuggler:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, tensor_args

    save({"w": Smuggler()}, "exec-in-tensor-args.bin")


if __name__ == "__main__":
    adapter()
    base()
    sharded_base()
    variants()
    refused()
    assert not os.path.exists(MARKER)
