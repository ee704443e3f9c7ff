#!/usr/bin/env python3
"""Writes tiny seeded models of the full-pass families and what transformers computes on them.

For each model type (qwen3_moe, qwen2_moe, olmoe, glm4_moe, dots1, minimax_m2, ernie4_5_moe, solar_open,
hunyuan_v1_moe, deepseek_v3, glm4_moe_lite, glm_moe_dsa, deepseek_v2, deepseek_v32; those named after OUT, or all)
this builds a tiny model from a seeded config, gives every weight a
seeded normal value (norms around 1; the routers' e_score_correction_bias buffers too), saves it with
save_pretrained in float32 (the legacy per-expert layout, as transformers 5.x writes it), then runs it in float64
with eager attention and eager experts on a few token sequences and writes reference.json: input_ids, logits [T][V]
and the hidden states transformers reports
(the embeddings, each layer's output but the last, the final norm's output).

Then it makes a legacy LoRA adapter of each model with the real PEFT in the legacy world (transformers 4.x, by
tools/make-legacy-adapter.py: r 4, alpha 8, attention and every gate/up/down projection, so the experts, the dense
MLPs and the shared experts, every lora_B non-zero; the latent-attention families' on their own projections;
minimax_m2, solar_open, glm4_moe_lite, glm_moe_dsa and deepseek_v32, which 4.x lacks, by tools/oracle-lora.py's hand
path, minimax_m2's on Mixtral's w1/w2/w3) into legacy-adapter/, merges it into the legacy weights in float64
(W + scale · B @ A) and writes the merged model's logits, computed as above, under "adapter". 5.18 saves
qwen3_moe's expert count as num_local_experts, which 4.x does not read (it would build its default 128 experts), so
the adapter is made on a copy of the config that names it num_experts too; the module names are the file's.

With --dora OUT MODEL_TYPE it makes, of OUT/MODEL_TYPE/legacy-base, a DoRA adapter with the real PEFT 0.21 on
transformers 5.18 (r 4, alpha 8, use_dora, q/k/v/o_proj, lora_A and lora_B seeded non-zero, and each magnitude
its initial ||W + scale B A|| per output row times a seeded 1 + 0.3 N(0, 1), so that DoRA differs from LoRA), saved
by PEFT's save_pretrained into dora-adapter/, and writes dora-reference.json: the logits of PEFT's own unmerged
forward pass (DoraLinearVariant) over the base in float64, for each of input_ids.

Dev-time only; needs torch and transformers 5.18, and the legacy world's python in FUSEBOX_LEGACY_PYTHON:
    FUSEBOX_LEGACY_PYTHON=... $FUSEBOX_ORACLE_PYTHON tools/reference-forward.py \
        converter/src/test/resources/dev/fusebox/converter/forward [MODEL_TYPE...]
    $FUSEBOX_ORACLE_PYTHON tools/reference-forward.py --dora converter/src/test/resources/dev/fusebox/converter/forward qwen3_moe
"""
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM

ADAPTER = {"r": 4, "lora_alpha": 8,
           "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}

SEQUENCES = [[1, 5, 77, 3, 120, 64, 9, 31], [2, 2, 2, 100, 101, 17]]

COMMON = dict(vocab_size=128, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
              num_experts=4, num_experts_per_tok=2, moe_intermediate_size=16, rms_norm_eps=1e-6,
              rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, tie_word_embeddings=False,
              max_position_embeddings=64)

BASE = {k: v for k, v in COMMON.items() if k != "num_experts"}

MODELS = {
    # q/k norms, top-k renormalised, layer 1 a dense MLP
    "qwen3_moe": dict(COMMON, head_dim=8, intermediate_size=48, norm_topk_prob=True, decoder_sparse_step=1,
                      mlp_only_layers=[1]),
    # shared expert with its sigmoid gate, top-k not renormalised, qkv biases, layer 2 dense (sparse step 2 hits 1)
    "qwen2_moe": dict(COMMON, intermediate_size=40, shared_expert_intermediate_size=24, norm_topk_prob=False,
                      qkv_bias=True, decoder_sparse_step=1, mlp_only_layers=[2]),
    # q/k norms over the whole projection, q/k/v clipped, top-k not renormalised, no dense layers
    "olmoe": dict({k: v for k, v in COMMON.items() if k != "moe_intermediate_size"}, intermediate_size=16,
                  norm_topk_prob=False, clip_qkv=1.0, eos_token_id=None, pad_token_id=None),
    # half-rotary RoPE, per-head q/k norms, q/k/v biases, group-limited sigmoid routing with the correction bias
    # (4 groups of 2, the best 2 groups, 3 experts), top-k renormalised then scaled by 2.5, a shared expert, layer 0
    # dense
    "glm4_moe": dict(BASE, head_dim=8, intermediate_size=48, n_routed_experts=8, num_experts_per_tok=3,
                     n_shared_experts=1, n_group=4, topk_group=2, routed_scaling_factor=2.5, norm_topk_prob=True,
                     first_k_dense_replace=1, use_qk_norm=True, attention_bias=True,
                     rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}),
    # per-head q/k norms, biases on q/k/v/o, sigmoid routing in 2 groups of 4 (the best one), top-k not
    # renormalised, scaled by 1.5, a shared expert of twice the experts' width, layer 0 dense
    "dots1": dict(BASE, head_dim=8, intermediate_size=48, n_routed_experts=8, num_experts_per_tok=2,
                  n_shared_experts=2, n_group=2, topk_group=1, routed_scaling_factor=1.5, norm_topk_prob=False,
                  first_k_dense_replace=1, attention_bias=True),
    # q/k norms over the whole projection, RoPE on 4 of each head's 8 channels (rotary_dim), sigmoid routing with
    # the block's correction bias, top-k renormalised
    "minimax_m2": dict({k: v for k, v in BASE.items() if k not in ("moe_intermediate_size", "rope_parameters")},
                       head_dim=8, intermediate_size=16, num_local_experts=4, num_experts_per_tok=2, rotary_dim=4,
                       bos_token_id=None, eos_token_id=None,
                       rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    # interleaved RoPE, softmax routing that chooses on the probabilities plus moe_statics' correction bias, a
    # shared expert, layer 0 dense, lm_head tied to the embeddings
    "ernie4_5_moe": dict({k: v for k, v in BASE.items() if k != "tie_word_embeddings"}, intermediate_size=48,
                         moe_num_experts=4, moe_k=2, moe_num_shared_experts=1, moe_layer_start_index=1,
                         moe_layer_end_index=-1, moe_layer_interval=1, tie_word_embeddings=True, use_bias=False),
    # GLM-4-MoE's router and shared expert without its q/k norms, partial RoPE or dense layers; q/k/v biases
    "solar_open": dict(BASE, head_dim=8, n_routed_experts=8, num_experts_per_tok=2, n_shared_experts=1, n_group=4,
                       topk_group=2, routed_scaling_factor=1.8, norm_topk_prob=True, attention_bias=True),
    # per-head q/k norms after RoPE, the router under mlp.gate.wg, a shared MLP, biases on q/k/v/o
    "hunyuan_v1_moe": dict({k: v for k, v in COMMON.items() if k not in ("num_experts_per_tok",
                                                                         "moe_intermediate_size")},
                           head_dim=8, intermediate_size=16, moe_topk=2, attention_bias=True, eos_token_id=None,
                           bos_token_id=None, pad_token_id=None, eod_token_id=None, sep_token_id=None),
    # multi-head latent attention (q through its low-rank pair, k/v from one latent, interleaved RoPE on 4 of each
    # head's 12 query/key dims, value heads of 6) with YaRN (its mscale changes both cos/sin and the softmax scale);
    # sigmoid routing over 12 experts in 4 groups, 2 groups kept, the correction bias, top-3 renormalised and
    # scaled by 2.5; a shared expert; layer 0 dense
    "deepseek_v3": dict({k: v for k, v in BASE.items() if k not in ("num_key_value_heads", "rope_parameters")},
                        num_key_value_heads=4, n_routed_experts=12, n_group=4, topk_group=2, num_experts_per_tok=3,
                        n_shared_experts=1, intermediate_size=40, first_k_dense_replace=1, q_lora_rank=12,
                        kv_lora_rank=8, qk_nope_head_dim=8, qk_rope_head_dim=4, v_head_dim=6,
                        routed_scaling_factor=2.5, norm_topk_prob=True,
                        rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                                         "original_max_position_embeddings": 16, "mscale": 1.0,
                                         "mscale_all_dim": 0.8, "beta_fast": 32, "beta_slow": 1}),
    # DeepSeek's latent attention the other way: one q_proj, plain RoPE on the two halves, biases on kv_a_proj_with_mqa
    # and o_proj, value heads wider than the keys; an rms_norm_eps (1e-5) the latent norms do not use; sigmoid
    # routing in 2 groups of 4 (the best one), top-k not renormalised, scaled by 1.8; two shared experts; layer 0
    # dense by mlp_layer_types
    "glm4_moe_lite": dict({k: v for k, v in BASE.items() if k != "num_key_value_heads"}, num_key_value_heads=4,
                          n_routed_experts=8, n_group=2, topk_group=1, num_experts_per_tok=2, n_shared_experts=2,
                          intermediate_size=40, mlp_layer_types=["dense", "sparse", "sparse"], q_lora_rank=None,
                          kv_lora_rank=8, qk_nope_head_dim=6, qk_rope_head_dim=4, v_head_dim=10,
                          routed_scaling_factor=1.8, norm_topk_prob=False, attention_bias=True,
                          rope_interleave=False, rms_norm_eps=1e-5),
    # DeepSeek's latent attention with GLM's indexer (index_topk 16: up to 16 tokens it keeps every key), plain
    # RoPE, interleaved; sigmoid routing over 8 experts in 4 groups (the best 2), top-2 renormalised, scaled by 2.5;
    # a shared expert; layer 0 dense by first_k_dense_replace
    "glm_moe_dsa": dict({k: v for k, v in BASE.items() if k != "num_key_value_heads"}, num_key_value_heads=4,
                        n_routed_experts=8, n_group=4, topk_group=2, num_experts_per_tok=2, n_shared_experts=1,
                        intermediate_size=40, first_k_dense_replace=1, q_lora_rank=12, kv_lora_rank=8,
                        qk_nope_head_dim=8, qk_rope_head_dim=4, v_head_dim=6, routed_scaling_factor=2.5,
                        norm_topk_prob=True, index_topk=16, index_head_dim=8, index_n_heads=2, rms_norm_eps=1e-5),
    # DeepSeek-V2: the latent attention (RoPE as complex products of the interleaved pairs) with YaRN, the softmax
    # router limited to the best 2 of 4 groups by their best probability (group_limited_greedy), top 3, not
    # renormalised, scaled by 1.5; two shared experts; layer 0 dense
    "deepseek_v2": dict({k: v for k, v in BASE.items() if k not in ("num_key_value_heads", "rope_parameters")},
                        num_key_value_heads=4, n_routed_experts=8, n_group=4, topk_group=2, num_experts_per_tok=3,
                        topk_method="group_limited_greedy", n_shared_experts=2, intermediate_size=40,
                        first_k_dense_replace=1, q_lora_rank=12, kv_lora_rank=8, qk_nope_head_dim=8,
                        qk_rope_head_dim=4, v_head_dim=6, routed_scaling_factor=1.5,
                        rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                                         "original_max_position_embeddings": 16, "mscale": 0.707,
                                         "mscale_all_dim": 0.707, "beta_fast": 32, "beta_slow": 1}),
    # DeepSeek-V3.2: DeepSeek-V3 with an indexer in every layer (index_topk 16: up to 16 tokens it keeps every key);
    # plain RoPE, q/k biases on the latent projections; layer 0 dense
    "deepseek_v32": dict({k: v for k, v in BASE.items() if k != "num_key_value_heads"}, num_key_value_heads=4,
                         n_routed_experts=8, n_group=4, topk_group=2, num_experts_per_tok=2, n_shared_experts=1,
                         intermediate_size=40, first_k_dense_replace=1, q_lora_rank=12, kv_lora_rank=8,
                         qk_nope_head_dim=8, qk_rope_head_dim=4, v_head_dim=6, routed_scaling_factor=2.5,
                         norm_topk_prob=True, attention_bias=True, index_topk=16, index_head_dim=8,
                         index_n_heads=2),
}

# minimax_m2's legacy experts are Mixtral's w1 (gate), w3 (up), w2 (down)
ADAPTERS = {"minimax_m2": dict(ADAPTER, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "w1", "w2", "w3"]),
            # DeepSeek's attention has its own projections
            "deepseek_v3": dict(ADAPTER, target_modules=["q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj",
                                                         "o_proj", "gate_proj", "up_proj", "down_proj"]),
            "glm4_moe_lite": dict(ADAPTER, target_modules=["q_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj",
                                                           "gate_proj", "up_proj", "down_proj"])}
ADAPTERS["glm_moe_dsa"] = ADAPTERS["deepseek_v2"] = ADAPTERS["deepseek_v32"] = ADAPTERS["deepseek_v3"]

# transformers 4.57 has no minimax_m2, solar_open, glm4_moe_lite, glm_moe_dsa or deepseek_v32: their adapters are
# written by hand as PEFT would save them (tools/oracle-lora.py)
BY_HAND = {"minimax_m2", "solar_open", "glm4_moe_lite", "glm_moe_dsa", "deepseek_v32"}


# the latent-attention families' own seeds, so that models added before them in MODELS leave their files unchanged
SEEDS = {"deepseek_v3": 100, "glm4_moe_lite": 101, "glm_moe_dsa": 102, "deepseek_v2": 103, "deepseek_v32": 104}


def seed_of(model_type):
    return SEEDS.get(model_type, list(MODELS).index(model_type))


def build(model_type, seed):
    config = AutoConfig.for_model(model_type, **MODELS[model_type])
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", experts_implementation="eager")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):  # zero at init: give the routers' choice a real bias
                b.copy_(0.3 * torch.randn_like(b))
    return model.float().eval()


def tensors(folder):
    out = {}
    for fn in sorted(os.listdir(folder)):
        if fn.endswith(".safetensors"):
            with safe_open(os.path.join(folder, fn), "pt") as f:
                for k in f.keys():
                    out[k] = f.get_tensor(k).double()
    return out


def make_adapters(out, work, types):
    """The legacy adapters, by PEFT in the legacy world, each on a 4.x-readable copy of its base's config."""
    jobs = []
    for model_type in types:
        seed = seed_of(model_type)
        base = work / model_type
        base.mkdir()
        config = json.loads((out / model_type / "legacy-base" / "config.json").read_text())
        if "num_local_experts" in config:
            config.setdefault("num_experts", config["num_local_experts"])
        (base / "config.json").write_text(json.dumps(config))
        shutil.copy(out / model_type / "legacy-base" / "model.safetensors", base)
        config = ADAPTERS.get(model_type, ADAPTER)
        job = {"base": str(base), "out": str(out / model_type / "legacy-adapter"), "config": config,
               "dtype": "float32", "bin": False, "seed": 2000 + seed}
        shutil.rmtree(job["out"], ignore_errors=True)
        if model_type in BY_HAND:
            oracle_lora().make_by_hand(job["base"], job["out"], dict(config), "float32", False, job["seed"])
        else:
            jobs.append(job)
    (work / "jobs.json").write_text(json.dumps(jobs))
    tool = Path(__file__).with_name("make-legacy-adapter.py")
    done = subprocess.run([os.environ["FUSEBOX_LEGACY_PYTHON"], str(tool), str(work / "jobs.json")], check=True,
                          capture_output=True, text=True).stdout
    for line in done.splitlines():
        if not json.loads(line)["ok"]:
            raise SystemExit(line)
    for model_type in types:
        folder = out / model_type / "legacy-adapter"
        (folder / "README.md").unlink(missing_ok=True)
        config = json.loads((folder / "adapter_config.json").read_text())
        config["base_model_name_or_path"] = "../legacy-base"
        (folder / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def oracle_lora():
    spec = importlib.util.spec_from_file_location("oracle_lora", Path(__file__).with_name("oracle-lora.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def merged(folder, work):
    """The legacy base with its adapter merged in float64, loaded by transformers as the base is."""
    config = json.loads((folder / "legacy-adapter" / "adapter_config.json").read_text())
    scale = config["lora_alpha"] / config["r"]
    weights = tensors(folder / "legacy-base")
    for key, a in tensors(folder / "legacy-adapter").items():
        if key.endswith("lora_A.weight"):
            module = key[len("base_model.model."):-len(".lora_A.weight")]
            b = tensors(folder / "legacy-adapter")[key.replace("lora_A", "lora_B")]
            weights[module + ".weight"] = weights[module + ".weight"] + scale * (b @ a)
    target = work / (folder.name + "-merged")
    target.mkdir()
    shutil.copy(folder / "legacy-base" / "config.json", target)
    save_file({k: v.contiguous() for k, v in weights.items()}, str(target / "model.safetensors"))
    return AutoModelForCausalLM.from_pretrained(target, dtype=torch.float64, attn_implementation="eager",
                                                experts_implementation="eager").eval()


DORA = {"r": 4, "lora_alpha": 8, "use_dora": True, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}


def make_dora(out, model_type):
    """A DoRA adapter of the family's tiny model by PEFT on transformers 5.18, and PEFT's float64 logits with it."""
    import peft
    from peft import LoraConfig, PeftModel, get_peft_model

    folder = out / model_type
    adapter = folder / "dora-adapter"
    base = AutoModelForCausalLM.from_pretrained(folder / "legacy-base", dtype=torch.float32,
                                                attn_implementation="eager", experts_implementation="eager")
    torch.manual_seed(3000 + seed_of(model_type))
    model = get_peft_model(base, LoraConfig(init_lora_weights=False, **DORA))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_magnitude_vector" in name:
                p.mul_(1.0 + 0.3 * torch.randn_like(p))
    shutil.rmtree(adapter, ignore_errors=True)
    model.save_pretrained(adapter)
    (adapter / "README.md").unlink(missing_ok=True)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "../legacy-base"
    (adapter / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    base = AutoModelForCausalLM.from_pretrained(folder / "legacy-base", dtype=torch.float64,
                                                attn_implementation="eager", experts_implementation="eager")
    loaded = PeftModel.from_pretrained(base, adapter).double().eval()
    assert any("lora.dora" in repr(m) for m in loaded.modules()), "PEFT did not apply DoRA"
    (folder / "dora-reference.json").write_text(json.dumps(
        {"transformers": transformers.__version__, "torch": torch.__version__, "peft": peft.__version__,
         "input_ids": SEQUENCES, "dora": run(loaded)}))


def main():
    if sys.argv[1] == "--dora":
        make_dora(Path(sys.argv[2]), sys.argv[3])
        return
    out = Path(sys.argv[1])
    types = sys.argv[2:] or list(MODELS)
    references = {}
    for model_type in types:
        seed = seed_of(model_type)
        folder = out / model_type
        model = build(model_type, 1000 + seed)
        model.save_pretrained(folder / "legacy-base")
        (folder / "legacy-base" / "generation_config.json").unlink(missing_ok=True)
        references[model_type] = run(model.double(), output_hidden_states=True)
    with tempfile.TemporaryDirectory() as work:
        make_adapters(out, Path(work), types)
        for model_type in types:
            folder = out / model_type
            (folder / "reference.json").write_text(json.dumps(
                {"transformers": transformers.__version__, "torch": torch.__version__, "input_ids": SEQUENCES,
                 "base": references[model_type], "adapter": run(merged(folder, Path(work)))}))


def run(model, output_hidden_states=False):
    entries = []
    for ids in SEQUENCES:
        with torch.no_grad():
            r = model(torch.tensor([ids]), output_hidden_states=output_hidden_states)
        entry = {"logits": r.logits[0].tolist()}
        if output_hidden_states:
            entry["hidden_states"] = [h[0].tolist() for h in r.hidden_states]
        entries.append(entry)
    return entries


if __name__ == "__main__":
    main()
