"""Makes the fixtures of Fusebox's `--merge-adapter` tests with the real PEFT, in the legacy world.

    LEGACY_PYTHON tools/make-merge-fixtures.py OUT_DIR

LEGACY_PYTHON has transformers 4.x (per-expert modules) and PEFT 0.21 (tools/setup-legacy-world.sh). Writes into
OUT_DIR a tiny legacy qwen2_moe base (base/, and base-float64/ with the same values) (hidden 16, 2 layers, layer 0 a dense MLP, layer 1 four experts and a shared
expert; q/k/v with biases) in float32, and for each adapter below: the adapter as PEFT's save_pretrained writes it
(every lora_B, lora_embedding_B, DoRA magnitude and lora_B bias filled with non-zero values), the truth — PEFT's own
merge_and_unload() of that adapter on the base in float64, only the tensors the merge changed — and the float64
logits of the base with the adapter applied by PEFT (unmerged), for tools/oracle-merge.py. A tiny legacy jamba
(base-jamba/) takes a LoRA on its Mamba mixer's projections.
"""
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoModelForCausalLM, JambaConfig, Qwen2MoeConfig  # noqa: E402
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402

ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ADAPTERS = {
    # DoRA on attention, the dense MLP of layer 0, each expert's Linear modules and the shared expert of layer 1
    "dora": dict(r=4, lora_alpha=8, use_dora=True, target_modules=ALL),
    # DoRA with rsLoRA and per-module ranks and alphas
    "dora_rslora_patterns": dict(r=4, lora_alpha=8, use_dora=True, use_rslora=True, target_modules=ALL,
                                 rank_pattern={"down_proj": 2}, alpha_pattern={"q_proj": 3}),
    # LoRA on the token embedding (PEFT's transposed lora_embedding_A/B), the LM head and q_proj
    "embedding": dict(r=4, lora_alpha=8, target_modules=["embed_tokens", "lm_head", "q_proj"]),
    # DoRA on the token embedding: its norm runs over the vocabulary, per embedding dimension
    "dora_embedding": dict(r=4, lora_alpha=8, use_dora=True, target_modules=["embed_tokens", "o_proj"]),
    # lora_bias on the modules that have a bias
    "lora_bias": dict(r=4, lora_alpha=8, lora_bias=True, target_modules=["q_proj", "k_proj", "v_proj"]),
    # jamba's Mamba mixer: transformers 4.x calls dt_proj (so PEFT applies its LoRA), transformers 5 reads its weight
    "jamba_mamba": dict(r=4, lora_alpha=8, target_modules=["dt_proj", "x_proj", "in_proj", "out_proj"]),
}
INPUT = [[3, 17, 5, 29, 11, 2, 23, 8, 30, 14, 1, 19]]


def tiny():
    return Qwen2MoeConfig(vocab_size=32, hidden_size=16, intermediate_size=24, moe_intermediate_size=8,
                          shared_expert_intermediate_size=8, num_experts=4, num_experts_per_tok=2,
                          num_hidden_layers=2, mlp_only_layers=[0], num_attention_heads=2, num_key_value_heads=1,
                          max_position_embeddings=64, tie_word_embeddings=False, norm_topk_prob=False,
                          pad_token_id=None, bos_token_id=None, eos_token_id=None)


def tiny_jamba():
    return JambaConfig(vocab_size=32, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=1, num_experts=4, num_experts_per_tok=2,
                       expert_layer_period=2, expert_layer_offset=1, attn_layer_period=2, attn_layer_offset=0,
                       mamba_d_state=8, mamba_dt_rank=8, mamba_expand=2, use_mamba_kernels=False,
                       tie_word_embeddings=False, pad_token_id=None, bos_token_id=None, eos_token_id=None)


def main(out):
    torch.manual_seed(1234)
    jamba_dir = os.path.join(out, "base-jamba")
    AutoModelForCausalLM.from_config(tiny_jamba(), dtype=torch.float32).save_pretrained(jamba_dir)
    os.remove(os.path.join(jamba_dir, "generation_config.json"))
    base_dir = os.path.join(out, "base")
    model = AutoModelForCausalLM.from_config(tiny(), dtype=torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.copy_(torch.randn_like(p) * 0.1)
    model.save_pretrained(base_dir, safe_serialization=True)
    # the same values in float64 (exactly), for the tests that check the merge's arithmetic to 1e-12
    model.to(torch.float64).save_pretrained(os.path.join(out, "base-float64"), safe_serialization=True)
    for d in ("base", "base-float64"):
        os.remove(os.path.join(out, d, "generation_config.json"))
    ids = torch.tensor(INPUT)
    summary = {}
    for i, (name, kwargs) in enumerate(ADAPTERS.items()):
        torch.manual_seed(100 + i)
        base_dir = jamba_dir if name.startswith("jamba") else os.path.join(out, "base")
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        peft_model = get_peft_model(model, LoraConfig(**kwargs))
        with torch.no_grad():
            for n, p in peft_model.named_parameters():
                if "lora_B" in n or "lora_embedding_B" in n:
                    p.copy_(torch.randn_like(p) * 0.3)
                elif "lora_magnitude" in n:
                    p.mul_(1 + 0.2 * torch.rand_like(p))
        adapter_dir = os.path.join(out, "adapter-" + name)
        peft_model.save_pretrained(adapter_dir, safe_serialization=True)
        os.remove(os.path.join(adapter_dir, "README.md"))  # PEFT's model card template
        path = os.path.join(adapter_dir, "adapter_config.json")
        with open(path) as f:
            config = json.load(f)
        config["base_model_name_or_path"] = "../" + os.path.basename(base_dir)
        with open(path, "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)

        base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float64).eval()
        before = {k: v.clone() for k, v in base.state_dict().items()}
        with torch.no_grad():
            plain = base(ids).logits
        applied = PeftModel.from_pretrained(base, adapter_dir, torch_dtype=torch.float64).eval()
        applied.to(torch.float64)
        with torch.no_grad():
            logits = applied(ids).logits
            merged = applied.merge_and_unload()
            merged_logits = merged(ids).logits
        changed = {k: v.contiguous() for k, v in merged.state_dict().items() if not torch.equal(v, before[k])}
        save_file(changed, os.path.join(out, "truth-" + name + ".float64.safetensors"))
        with open(os.path.join(out, "logits-" + name + ".json"), "w") as f:
            json.dump({"input_ids": INPUT, "logits": logits[0].tolist()}, f)
        summary[name] = {"changed": len(changed), "adapter_effect": (logits - plain).abs().max().item(),
                         "merge_and_unload_vs_applied": (merged_logits - logits).abs().max().item()}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
