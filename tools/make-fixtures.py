#!/usr/bin/env python3
"""Rebuilds fixtures/ (mixtral-tiny/ and mixtral-seed-shape/) with the real transformers and PEFT.

    LEGACY_PYTHON=... ORACLE_PYTHON tools/make-fixtures.py OUT_DIR [--inputs fixtures | --fresh-inputs SEED]

Run it through tools/make-fixtures.sh, which sets up both environments and checks the result against
fixtures/SHA256SUMS. ORACLE_PYTHON has torch, transformers 5.x and PEFT 0.21 (tools/setup-python-oracle.sh);
LEGACY_PYTHON (environment: FUSEBOX_LEGACY_PYTHON) has transformers 4.57.6 (tools/setup-legacy-world.sh) and prints
the legacy module trees.

The inputs of mixtral-tiny are random draws: the base weights (legacy-base/model.safetensors) and the four legacy
adapters (legacy-lora-*/). The tool that drew them was not kept with them, so by default they are taken as they are
from fixtures/ (--inputs DIR) and everything transformers and PEFT make of them is recomputed: the v5 state dict,
the trees, the merged models, what PEFT saves, the reference logits, the summary. --fresh-inputs SEED draws new
inputs instead (each matrix N(0, 1/fan_in), embeddings N(0, 1), norms 1 + N(0, 0.1²), lora_A N(0, 1/fan_in),
lora_B N(0, 0.2²), all from torch's generator seeded with SEED), for a rebuild that needs nothing from fixtures/;
the tests' SHA256SUMS then has to be rewritten, and the tests rerun against the new truth.

The adapters' config files are written as PEFT's LoraConfig of the time wrote them (the keys the fixtures have).
Everything is computed on the CPU with one thread, so that float64 sums run in one order. PEFT saves
target_modules and target_parameters from Python sets, whose order follows the string hash: make-fixtures.sh fixes
PYTHONHASHSEED to a seed that gives the fixtures' order.
"""
import argparse
import contextlib
import io
import json
import logging
import math
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

H, I, E, TOPK, L, HEADS, KV, V = 64, 96, 4, 2, 2, 4, 2, 256
EPS, THETA, R, ALPHA = 1e-5, 1e6, 4, 8
SEQS = [[1, 17, 42, 99, 3, 250, 7, 128, 64, 5], [1, 200, 201, 202, 9, 9, 9]]

# The order the fixtures list the adapters in (summary.json, reference-forward.json).
ADAPTERS = {
    "attn_experts": (["q_proj", "k_proj", "v_proj", "o_proj", "w1", "w2", "w3"], False),
    "experts_gate_rslora": (["w1", "w2", "w3", "gate"], True),
    "experts_gate": (["w1", "w2", "w3", "gate"], False),
    "attn_experts_rslora": (["q_proj", "k_proj", "v_proj", "o_proj", "w1", "w2", "w3"], True),
}


def legacy_config(hidden, intermediate, experts, heads, kv, vocab, dtype):
    """A config.json as transformers 4.46 wrote a Mixtral's (the fixtures' legacy spelling)."""
    return {
        "architectures": ["MixtralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
        "hidden_act": "silu", "hidden_size": hidden, "initializer_range": 0.02, "intermediate_size": intermediate,
        "max_position_embeddings": 256, "model_type": "mixtral", "num_attention_heads": heads,
        "num_experts_per_tok": TOPK, "num_hidden_layers": L, "num_key_value_heads": kv,
        "num_local_experts": experts, "output_router_logits": False, "rms_norm_eps": EPS, "rope_theta": THETA,
        "router_aux_loss_coef": 0.02, "router_jitter_noise": 0.0, "sliding_window": None,
        "tie_word_embeddings": False, "torch_dtype": dtype, "transformers_version": "4.46.3", "use_cache": True,
        "vocab_size": vocab,
    }


TINY_CONFIG = legacy_config(H, I, E, HEADS, KV, V, "float32")
SEED_CONFIG = legacy_config(1024, 3584, 8, 32, 8, 32000, "bfloat16")


def adapter_config(targets, rslora):
    return {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "legacy-base", "bias": "none",
        "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layer_replication": None,
        "layers_pattern": None, "layers_to_transform": None, "lora_alpha": ALPHA, "lora_dropout": 0.0,
        "modules_to_save": None, "peft_type": "LORA", "r": R, "rank_pattern": {}, "revision": None,
        "target_modules": targets, "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": rslora,
    }


def write_json(path, value):
    """As the fixtures are written: one-space indent, no newline at the end."""
    path.write_text(json.dumps(value, indent=1))


def legacy_modules(layer):
    """(module, [out, in]) of every Linear a legacy Mixtral layer holds, attention first."""
    head = H // HEADS
    yield f"model.layers.{layer}.self_attn.q_proj", [HEADS * head, H]
    yield f"model.layers.{layer}.self_attn.k_proj", [KV * head, H]
    yield f"model.layers.{layer}.self_attn.v_proj", [KV * head, H]
    yield f"model.layers.{layer}.self_attn.o_proj", [H, HEADS * head]
    yield f"model.layers.{layer}.block_sparse_moe.gate", [E, H]
    for e in range(E):
        for w, shape in (("w1", [I, H]), ("w2", [H, I]), ("w3", [I, H])):
            yield f"model.layers.{layer}.block_sparse_moe.experts.{e}.{w}", shape


def fresh_inputs(out, seed):
    import torch
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(seed)

    def matrix(shape, std):
        return (torch.randn(shape, generator=g, dtype=torch.float64) * std).float()

    weights = {"model.embed_tokens.weight": matrix([V, H], 1.0)}
    for layer in range(L):
        for name in ("input_layernorm", "post_attention_layernorm"):
            weights[f"model.layers.{layer}.{name}.weight"] = 1 + matrix([H], 0.1)
        for module, shape in legacy_modules(layer):
            weights[module + ".weight"] = matrix(shape, 1 / math.sqrt(shape[1]))
    weights["model.norm.weight"] = 1 + matrix([H], 0.1)
    weights["lm_head.weight"] = matrix([V, H], 1 / math.sqrt(H))
    (out / "legacy-base").mkdir(parents=True)
    save_file(weights, str(out / "legacy-base/model.safetensors"), metadata={"format": "pt"})
    write_json(out / "legacy-base/config.json", TINY_CONFIG)
    for name, (targets, rslora) in ADAPTERS.items():
        tensors = {}
        for layer in range(L):
            for module, (rows, cols) in legacy_modules(layer):
                if module.rsplit(".", 1)[1] in targets:
                    key = "base_model.model." + module
                    tensors[key + ".lora_A.weight"] = matrix([R, cols], 1 / math.sqrt(cols))
                    tensors[key + ".lora_B.weight"] = matrix([rows, R], 0.2)
        folder = out / f"legacy-lora-{name}"
        folder.mkdir()
        save_file(tensors, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
        write_json(folder / "adapter_config.json", adapter_config(targets, rslora))


def copied_inputs(out, source):
    for folder in ["legacy-base"] + [f"legacy-lora-{name}" for name in ADAPTERS]:
        shutil.copytree(source / folder, out / folder)


def legacy_tree(config, legacy_python):
    """print(model) of CONFIG under transformers 4.x, built on the meta device (no weights needed)."""
    code = ("import json, sys, torch, transformers\n"
            "config = transformers.AutoConfig.for_model(**json.loads(sys.stdin.read()))\n"
            "with torch.device('meta'):\n"
            "    model = transformers.AutoModelForCausalLM.from_config(config)\n"
            "print(model)\n")
    fields = {k: v for k, v in config.items() if k not in ("architectures", "transformers_version")}
    done = subprocess.run([legacy_python, "-c", code], input=json.dumps(fields), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the legacy python could not print the tree: {done.stderr.strip()[-400:]}")
    return done.stdout


def merged_legacy(base, adapter_dir):
    """The adapter merged by hand into the legacy weights, in float64: W + scale · B @ A."""
    import torch
    from safetensors.torch import load_file
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    scale = config["lora_alpha"] / (math.sqrt(config["r"]) if config["use_rslora"] else config["r"])
    lora = load_file(str(adapter_dir / "adapter_model.safetensors"))
    merged = {k: v.double() for k, v in base.items()}
    for key in lora:
        if key.endswith(".lora_A.weight"):
            module = key[len("base_model.model."):-len(".lora_A.weight")]
            a = lora[key].double()
            b = lora[key.replace(".lora_A.", ".lora_B.")].double()
            merged[module + ".weight"] = merged[module + ".weight"] + scale * (b @ a)
    return merged


def forward(model, with_states):
    import torch
    runs = []
    for seq in SEQS:
        with torch.no_grad():
            out = model(torch.tensor([seq]), output_hidden_states=with_states, output_router_logits=with_states)
        run = {"logits": out.logits[0].tolist()}
        if with_states:
            run["hidden_states"] = [h[0].tolist() for h in out.hidden_states]
            run["router_logits"] = [r.reshape(len(seq), -1).tolist() for r in out.router_logits]
        runs.append(run)
    return runs


def first_sequence_diff(a, b):
    """How far two runs' logits are apart on the first sequence, in float32 (as the fixtures record it)."""
    import torch
    return float((torch.tensor(a[0]["logits"]) - torch.tensor(b[0]["logits"])).abs().max())


def load_v5(folder, dtype, **kwargs):
    from transformers import AutoModelForCausalLM
    loaded = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype, attn_implementation="eager",
                                                  experts_implementation="eager", **kwargs)
    (loaded[0] if isinstance(loaded, tuple) else loaded).eval()
    return loaded


def safetensors_shapes(path):
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        return {k: list(f.get_slice(k).get_shape()) for k in sorted(f.keys())}


def peft_run(out, name, model_dir, reference, alpha_fix):
    """Loads the legacy adapter with PEFT on the v5 model, saves what PEFT holds, and compares its logits."""
    import torch
    from peft import PeftModel
    model = load_v5(model_dir, torch.float64)
    caught, logs = [], io.StringIO()
    handler = logging.StreamHandler(logs)
    logging.getLogger().addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        peft = PeftModel.from_pretrained(model, str(out / f"legacy-lora-{name}")).eval()
    logging.getLogger().removeHandler(handler)
    (out / f"peft-tree-{name}.txt").write_text(str(peft) + "\n")
    saved = out / f"peft-saved-{name}"
    peft.save_pretrained(str(saved))
    record = {
        "warnings": [str(w.message) for w in caught], "logs": logs.getvalue(),
        "max_abs_diff_vs_reference": [
            float((torch.tensor(p["logits"]) - torch.tensor(r["logits"])).abs().max())
            for p, r in zip(forward(peft, False), reference)],
        "in_memory_lora_keys": {k: [list(v.shape), str(v.dtype).replace("torch.", "")]
                                for k, v in peft.state_dict().items() if "lora_" in k},
        "saved_adapter_keys": safetensors_shapes(saved / "adapter_model.safetensors"),
        "saved_adapter_config": json.loads((saved / "adapter_config.json").read_text()),
    }
    if alpha_fix:
        fixed = out / f"peft-saved-{name}-alpha-fixed"
        shutil.copytree(saved, fixed)
        config = json.loads((fixed / "adapter_config.json").read_text())
        config["alpha_pattern"] = {".*\\.gate_up_proj": ALPHA * math.sqrt(2 * R / R)}
        write_json(fixed / "adapter_config.json", config)
        again = PeftModel.from_pretrained(load_v5(model_dir, torch.float64), str(fixed)).eval()
        record["alpha_fixed_max_abs_diff_vs_reference"] = [
            float((torch.tensor(p["logits"]) - torch.tensor(r["logits"])).abs().max())
            for p, r in zip(forward(again, False), reference)]
    return record


def hand_fused(legacy):
    """The v5 state dict written out from docs/design.md §1, to compare with what transformers builds."""
    import torch
    fused = {}
    for key, value in legacy.items():
        if ".block_sparse_moe.experts." in key:
            continue
        fused[key.replace(".block_sparse_moe.", ".mlp.")] = value
    for layer in range(L):
        p = f"model.layers.{layer}.block_sparse_moe.experts"
        fused[f"model.layers.{layer}.mlp.experts.gate_up_proj"] = torch.stack(
            [torch.cat([legacy[f"{p}.{e}.w1.weight"], legacy[f"{p}.{e}.w3.weight"]]) for e in range(E)])
        fused[f"model.layers.{layer}.mlp.experts.down_proj"] = torch.stack(
            [legacy[f"{p}.{e}.w2.weight"] for e in range(E)])
    return fused


def mixtral_tiny(out, legacy_python):
    import torch
    import transformers
    from safetensors.torch import load_file, save_file
    base_dir = out / "legacy-base"
    legacy = load_file(str(base_dir / "model.safetensors"))
    summary = {"config": {"H": H, "I": I, "E": E, "topk": TOPK, "L": L, "heads": HEADS, "kv": KV, "V": V,
                          "eps": EPS, "theta": THETA, "dtype": "float32", "r": R, "alpha": ALPHA, "seqs": SEQS},
               "files": {}}

    model, info = load_v5(base_dir, torch.float64, output_loading_info=True)
    summary["load_info"] = {k: sorted(v) if isinstance(v, set) else list(v) for k, v in info.items()}
    state = model.state_dict()
    write_json(out / "v5-state-dict-shapes.json",
               {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in state.items()})
    (out / "v5-tree.txt").write_text(str(model) + "\n")
    (out / "legacy-tree.txt").write_text(legacy_tree(TINY_CONFIG, legacy_python))
    fused = hand_fused({k: v.double() for k, v in legacy.items()})
    summary["hand_fused_keys_equal"] = sorted(fused) == sorted(state)
    summary["hand_fused_max_abs_diff"] = max(float((fused[k] - state[k]).abs().max()) for k in state)

    saved = out / "v5-save_pretrained"
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        keys = safetensors_shapes(Path(tmp) / "model.safetensors")
        saved.mkdir()
        for name in ("config.json", "generation_config.json"):
            shutil.copy(Path(tmp) / name, saved / name)
    write_json(out / "v5-save_pretrained-keys.json", keys)
    summary["save_pretrained_is_legacy_layout"] = sorted(keys) == sorted(legacy)

    reference = {"input_ids": SEQS, "base": forward(model, True)}
    model32 = load_v5(base_dir, torch.float32)
    save_file({k: v.contiguous() for k, v in model32.state_dict().items()},
              str(out / "v5-base.float32.safetensors"), metadata={"format": "pt"})
    reference["base_float32"] = forward(model32, False)

    for name, (_, rslora) in ADAPTERS.items():
        merged = merged_legacy(legacy, out / f"legacy-lora-{name}")
        with tempfile.TemporaryDirectory() as tmp:
            save_file({k: v.float() for k, v in merged.items()}, f"{tmp}/model.safetensors", metadata={"format": "pt"})
            (Path(tmp) / "config.json").write_text((base_dir / "config.json").read_text())
            merged32 = load_v5(tmp, torch.float32)
            save_file({k: v.contiguous() for k, v in merged32.state_dict().items()},
                      str(out / f"v5-merged-{name}.float32.safetensors"), metadata={"format": "pt"})
            save_file(merged, f"{tmp}/model.safetensors", metadata={"format": "pt"})
            lora_logits = forward(load_v5(tmp, torch.float64), False)
            reference[f"lora_{name}"] = lora_logits
            reference[f"lora_{name}_vs_base_max_abs_diff"] = first_sequence_diff(lora_logits, reference["base"])
            summary[f"peft_{name}"] = peft_run(out, name, base_dir, lora_logits, rslora)
    write_json(out / "reference-forward.json", reference)
    write_json(out / "summary.json", summary)
    print(f"mixtral-tiny: transformers {transformers.__version__}", file=sys.stderr)


def mixtral_seed_shape(out, legacy_python):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    out.mkdir(parents=True)
    write_json(out / "config.json", SEED_CONFIG)
    fields = {k: v for k, v in SEED_CONFIG.items() if k not in ("architectures", "transformers_version", "torch_dtype")}
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**fields), dtype=torch.float32)
    write_json(out / "v5-state-dict-shapes.json",
               {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in model.state_dict().items()})
    (out / "v5-tree.txt").write_text(str(model) + "\n")
    (out / "legacy-tree.txt").write_text(legacy_tree(SEED_CONFIG, legacy_python))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--inputs", type=Path, default=Path(__file__).resolve().parent.parent / "fixtures",
                        help="a fixtures/ folder whose mixtral-tiny inputs to reuse (default: the repo's)")
    source.add_argument("--fresh-inputs", type=int, metavar="SEED", help="draw new inputs from this seed")
    parser.add_argument("--legacy-python", required=True, help="a python with transformers 4.57.6")
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    with contextlib.suppress(Exception):
        import transformers
        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    tiny = args.out / "mixtral-tiny"
    tiny.mkdir(parents=True)
    if args.fresh_inputs is not None:
        fresh_inputs(tiny, args.fresh_inputs)
    else:
        copied_inputs(tiny, args.inputs / "mixtral-tiny")
    mixtral_tiny(tiny, args.legacy_python)
    mixtral_seed_shape(args.out / "mixtral-seed-shape", args.legacy_python)


if __name__ == "__main__":
    main()
