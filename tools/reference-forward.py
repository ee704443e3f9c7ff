#!/usr/bin/env python3
"""Writes tiny seeded models of the full-pass families and what transformers computes on them.

For each model type (qwen3_moe, qwen2_moe, olmoe) this builds a tiny model from a seeded config, gives every weight a
seeded normal value (norms around 1), saves it with save_pretrained in float32 (the legacy per-expert layout, as
transformers 5.x writes it), then runs it in float64 with eager attention and eager experts on a few token
sequences and writes reference.json: input_ids, logits [T][V] and the hidden states transformers reports
(the embeddings, each layer's output but the last, the final norm's output).

Dev-time only; needs torch and transformers 5.18:
    $FUSEBOX_ORACLE_PYTHON tools/reference-forward.py converter/src/test/resources/dev/fusebox/converter/forward
"""
import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

SEQUENCES = [[1, 5, 77, 3, 120, 64, 9, 31], [2, 2, 2, 100, 101, 17]]

COMMON = dict(vocab_size=128, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
              num_experts=4, num_experts_per_tok=2, moe_intermediate_size=16, rms_norm_eps=1e-6,
              rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, tie_word_embeddings=False,
              max_position_embeddings=64)

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
}


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
    return model.float().eval()


def main():
    out = Path(sys.argv[1])
    for seed, model_type in enumerate(MODELS):
        folder = out / model_type
        model = build(model_type, 1000 + seed)
        model.save_pretrained(folder / "legacy-base")
        model = model.double()
        entries = []
        for ids in SEQUENCES:
            with torch.no_grad():
                r = model(torch.tensor([ids]), output_hidden_states=True)
            entries.append({"logits": r.logits[0].tolist(),
                            "hidden_states": [h[0].tolist() for h in r.hidden_states]})
        (folder / "reference.json").write_text(json.dumps(
            {"transformers": transformers.__version__, "torch": torch.__version__, "input_ids": SEQUENCES,
             "base": entries}))


if __name__ == "__main__":
    main()
