"""Writes a tiny legacy Mixtral with 256 experts (hidden 16, intermediate 8, one layer, random float32 weights) for
docs/screenshots.sh's picture of a large expert count. Dev-time only (needs torch and safetensors):
    python tools/make-many-experts.py OUT_DIR
then FUSEBOX_SHOT_MANY_EXPERTS=OUT_DIR docs/screenshots.sh many-experts
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

H, I, E = 16, 8, 256


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    t = {"model.embed_tokens.weight": torch.randn(32, H), "model.norm.weight": torch.ones(H),
         "lm_head.weight": torch.randn(32, H)}
    p = "model.layers.0."
    for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
        t[p + "self_attn." + n + ".weight"] = torch.randn(H, H)
    t[p + "input_layernorm.weight"] = torch.ones(H)
    t[p + "post_attention_layernorm.weight"] = torch.ones(H)
    t[p + "block_sparse_moe.gate.weight"] = torch.randn(E, H)
    for e in range(E):
        q = p + f"block_sparse_moe.experts.{e}."
        t[q + "w1.weight"] = torch.randn(I, H)
        t[q + "w3.weight"] = torch.randn(I, H)
        t[q + "w2.weight"] = torch.randn(H, I)
    save_file(t, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({"model_type": "mixtral", "architectures": ["MixtralForCausalLM"], "hidden_size": H,
                   "intermediate_size": I, "num_hidden_layers": 1, "num_attention_heads": 2,
                   "num_key_value_heads": 2, "num_local_experts": E, "num_experts_per_tok": 2, "vocab_size": 32,
                   "rms_norm_eps": 1e-5, "max_position_embeddings": 64, "torch_dtype": "float32"}, f, indent=2)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tools/make-many-experts.py OUT_DIR")
    main(sys.argv[1])
