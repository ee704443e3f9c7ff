"""Makes legacy LoRA adapters with the real PEFT, in the legacy world (transformers 4.x, per-expert modules).

    LEGACY_PYTHON tools/make-legacy-adapter.py JOBS.json

JOBS.json is a list of {"base", "out", "config", "dtype", "bin", "seed"}: BASE a legacy checkpoint directory (its
config.json is enough: the model is built from the config), config LoraConfig's keyword arguments, dtype the
tensors' (float32, float16, bfloat16), bin whether to save torch.save's adapter_model.bin. One process makes them
all (importing transformers 4.x takes long). Prints one JSON line per job: {"out", "ok", "error"}. Every lora_B (and lora_B bias, DoRA magnitude, modules_to_save copy) is filled with
non-zero values, so that the adapter changes the model; the adapter is saved by PEFT's own save_pretrained. The
module names of the 4.x model must be BASE's keys, else the job fails with "names" in its error (a transformers 5
save that 4.x would not read). Used by tools/oracle-lora.py.
"""
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from transformers import AutoConfig, AutoModelForCausalLM  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402


def base_keys(path):
    keys = set()
    for fn in os.listdir(path):
        if fn.endswith(".safetensors"):
            with safe_open(os.path.join(path, fn), "pt") as f:
                keys.update(f.keys())
    return keys


# What transformers 5 writes in a config where 4.x reads other words: granitemoehybrid's layer types (5.x's
# "linear_attention"/"full_attention" are 4.57's "mamba"/"attention"; the model and its names are the same)
LEGACY_WORDS = {"granitemoehybrid": {"layer_types": {"linear_attention": "mamba", "full_attention": "attention"}}}


def legacy_config(base):
    """The base's config as transformers 4.x reads it."""
    with open(os.path.join(base, "config.json")) as f:
        values = json.load(f)
    for field, words in LEGACY_WORDS.get(values.get("model_type"), {}).items():
        values[field] = [words.get(v, v) for v in values[field]]
    return AutoConfig.for_model(values.pop("model_type"), **values)


def make(job):
    torch.manual_seed(job["seed"])
    try:
        config = legacy_config(job["base"])
    except (KeyError, ValueError) as e:  # a model type this transformers lacks: the adapter is written by hand
        raise NameError(f"names: no such model type in this transformers: {e}") from e
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    have = base_keys(job["base"])
    missing = sorted(k for k in model.state_dict() if k not in have and k != "lm_head.weight")
    if missing:
        raise NameError(f"names: the 4.x model has modules the base does not: {missing[:3]}")
    peft_model = get_peft_model(model, LoraConfig(**job["config"]))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name or "lora_embedding_B" in name or "modules_to_save" in name:
                p.copy_(torch.randn_like(p) * 0.3)
            elif "lora_magnitude" in name:
                p.mul_(1 + 0.2 * torch.rand_like(p))
    peft_model.to(getattr(torch, job["dtype"]))
    peft_model.save_pretrained(job["out"], safe_serialization=not job["bin"])
    path = os.path.join(job["out"], "adapter_config.json")
    with open(path) as f:
        config = json.load(f)
    config["base_model_name_or_path"] = os.path.abspath(job["base"])
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    for job in jobs:
        try:
            make(job)
            print(json.dumps({"out": job["out"], "ok": True}), flush=True)
        except Exception as e:  # PEFT refusing a variant in the legacy world is an answer, not a crash
            print(json.dumps({"out": job["out"], "ok": False, "error": f"{type(e).__name__}: {e}"[:300]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
