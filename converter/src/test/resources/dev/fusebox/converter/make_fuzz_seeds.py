"""Writes the seed corpora of the fuzz tests (the <Test>Inputs/<method>/ folders beside this script), with torch
and the safetensors library of the Python oracle, and from the fixtures transformers and PEFT wrote and the bundled
rule files. The fuzz tests run over these inputs in the normal test suite
(regression mode); inputs the fuzzer finds that break a test are added beside them as crash-<sha1> files.

Run from the repository root:  $(tools/setup-python-oracle.sh) \
    converter/src/test/resources/dev/fusebox/converter/make_fuzz_seeds.py
"""
import collections
import io
import json
import pathlib
import struct
import zipfile

import torch
from safetensors.torch import save

HERE = pathlib.Path(__file__).resolve().parent


def folder(test, method):
    package, cls = test
    d = HERE / package / (cls + "Inputs") / method
    d.mkdir(parents=True, exist_ok=True)
    return d


def safetensors_seeds():
    files = {
        "three-dtypes": save({"a": torch.ones(2, 2), "b": torch.arange(3).to(torch.bfloat16),
                              "c": torch.tensor(7, dtype=torch.int64)}, metadata={"format": "pt"}),
        "empty-and-bool": save({"e": torch.zeros(0, 3), "m": torch.tensor([True, False])}),
        "float8": save({"f": torch.zeros(4, dtype=torch.float8_e4m3fn), "g": torch.ones(1, dtype=torch.float64)}),
        "no-tensors": save({}),
    }
    whole = folder(("safetensors", "SafetensorsFuzzTest"), "everyFileOpensOrIsRefusedWithAFuseboxException")
    header = folder(("safetensors", "SafetensorsFuzzTest"), "everyHeaderParsesOrIsRefusedWithAFuseboxException")
    for name, data in files.items():
        (whole / name).write_bytes(data)
        (whole / (name + "-truncated")).write_bytes(data[: len(data) - 3])
        n = struct.unpack("<Q", data[:8])[0]
        # FuzzedDataProvider takes the data length from the input's last bytes and the header from the rest.
        (header / name).write_bytes(data[8: 8 + n] + struct.pack("<Q", len(data) - 8 - n))


def index_seeds():
    d = folder(("checkpoint", "ShardIndexFuzzTest"), "everyIndexOpensOrIsRefusedWithAFuseboxException")
    good = {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
            "c": "model-00002-of-00002.safetensors"}
    seeds = {
        "good": {"metadata": {"total_size": 24}, "weight_map": good},
        "dot-dot": {"weight_map": dict(good, c="../outside.safetensors")},
        "link": {"weight_map": {"d": "link.safetensors"}},
        "directory": {"weight_map": dict(good, c="sub")},
        "absolute": {"weight_map": dict(good, c="/etc/passwd")},
        "missing": {"weight_map": {"a": "model-00001-of-00002.safetensors"}},
    }
    for name, obj in seeds.items():
        (d / name).write_text(json.dumps(obj))


def torch_bytes(obj):
    b = io.BytesIO()
    torch.save(obj, b)
    return b.getvalue()


def pickle_of(archive):
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        return z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))


def torch_seeds():
    module_state = torch.nn.Linear(2, 2).state_dict()
    base = torch.arange(6, dtype=torch.float32)
    archives = {
        "plain-dict": torch_bytes({"w": torch.ones(2, 3), "b": torch.zeros(2, dtype=torch.bfloat16)}),
        "module-state-dict": torch_bytes(module_state),
        "views-and-parameter": torch_bytes(collections.OrderedDict(
            head=base[:2], tail=base[2:].view(2, 2), p=torch.nn.Parameter(torch.ones(1)))),
        "float8-v3": torch_bytes({"f": torch.zeros(3, dtype=torch.float8_e5m2), "u": torch.ones(2, dtype=torch.uint16)}),
        "empty": torch_bytes({}),
    }
    whole = folder(("torchzip", "TorchZipFuzzTest"), "everyArchiveOpensOrIsRefusedWithAFuseboxException")
    pickles = folder(("torchzip", "TorchZipFuzzTest"), "everyPickleLoadsOrIsRefusedWithAFuseboxException")
    for name, data in archives.items():
        (whole / name).write_bytes(data)
        (pickles / name).write_bytes(pickle_of(data))


ROOT = HERE.parents[6]
TINY = ROOT / "fixtures" / "mixtral-tiny"


def config_seeds():
    """config.json as transformers 4.57 and 5.17 wrote it for the tiny Mixtral, and variations of its fields."""
    d = folder(("checkpoint", "ModelConfigFuzzTest"), "everyConfigPlansOrIsRefusedWithAFuseboxException")
    legacy = json.loads((TINY / "legacy-base" / "config.json").read_text())
    (d / "legacy").write_text(json.dumps(legacy))
    (d / "v5-save_pretrained").write_bytes((TINY / "v5-save_pretrained" / "config.json").read_bytes())
    (d / "no-model-type").write_text(json.dumps({k: v for k, v in legacy.items() if k != "model_type"}))
    (d / "qwen2_moe").write_text(json.dumps(dict(legacy, model_type="qwen2_moe")))
    (d / "rope-parameters").write_text(json.dumps(dict(legacy, rope_parameters={"rope_theta": 1e6, "rope_type": "default"})))


def adapter_seeds():
    """adapter_config.json as PEFT 0.21 wrote it (legacy and converted), and with patterns, rsLoRA and layers."""
    d = folder(("checkpoint", "AdapterConfigFuzzTest"), "everyAdapterConfigPlansOrIsRefusedWithAFuseboxException")
    legacy = json.loads((TINY / "legacy-lora-attn_experts" / "adapter_config.json").read_text())
    (d / "legacy").write_text(json.dumps(legacy))
    (d / "peft-saved").write_bytes((TINY / "peft-saved-attn_experts" / "adapter_config.json").read_bytes())
    (d / "patterns").write_text(json.dumps(dict(legacy, rank_pattern={".*\\.w1": 4}, alpha_pattern={"q_proj": 16})))
    (d / "rslora-layers").write_text(json.dumps(dict(legacy, use_rslora=True, layers_to_transform=[0])))
    (d / "regex-targets").write_text(json.dumps(dict(legacy, target_modules=".*\\.(w1|w2|w3|q_proj)")))


def rule_seeds():
    """The bundled rule files, as users copy them to write their own."""
    d = folder(("rules", "RuleFileFuzzTest"), "everyRuleFileReadsOrIsRefusedWithAFuseboxException")
    bundled = ROOT / "converter" / "src" / "main" / "resources" / "dev" / "fusebox" / "converter" / "rules"
    for name in ("mixtral.json", "qwen2_moe.json", "phimoe.json", "granitemoe.json", "qwen3_vl_moe.json"):
        (d / name.removesuffix(".json")).write_bytes((bundled / name).read_bytes())


if __name__ == "__main__":
    safetensors_seeds()
    index_seeds()
    torch_seeds()
    config_seeds()
    adapter_seeds()
    rule_seeds()
