"""Makes the FP8 fine-grained MoE fixture from the real transformers, and what its loader holds.

    $FUSEBOX_ORACLE_PYTHON tools/make_fp8_moe_fixture.py OUT_DIR
    $FUSEBOX_ORACLE_PYTHON tools/make_fp8_moe_fixture.py --check-dense DENSE_DIR LEGACY_DIR
    $FUSEBOX_ORACLE_PYTHON tools/make_fp8_moe_fixture.py --statistics FILE.safetensors KEY...

(FUSEBOX_ORACLE_PYTHON: a Python with torch and transformers 5.18.) Writes into OUT_DIR:
  legacy/        a tiny Qwen3-MoE (hidden 64, expert intermediate 96, 4 experts, 1 layer) saved by
                 transformers' save_pretrained (the legacy per-expert layout), every attention and expert
                 projection then quantized by transformers' own Fp8Quantize with weight_block_size [32, 16]
                 (F8_E4M3 weight + F32 weight_scale_inv), config.json given the quantization_config of an FP8
                 checkpoint (quant_method fp8, activation_scheme dynamic, modules_to_not_convert as Qwen's);
  fused-fp8.safetensors
                 the state dict transformers 5.18 holds after loading legacy/ with the FP8 kernels' modules
                 (FP8Linear, FP8Experts), as it does on an FP8-capable GPU: loaded on CPU with only its GPU check
                 (FineGrainedFP8HfQuantizer.validate_environment) skipped, so it does not fall back to dequantizing;
  dequantized.safetensors
                 the state dict transformers 5.18 holds after loading legacy/ on CPU as it is (it dequantizes
                 every FP8 weight with its scales to bfloat16 before fusing the experts).
Each load must report no missing, unexpected or mismatched keys. With --check-dense, DENSE_DIR (what
`fusebox convert --dequantize LEGACY_DIR DENSE_DIR` wrote) must load with no missing or unexpected keys and no
quantizer, and give exactly the logits of LEGACY_DIR loaded on CPU; exits 1 when it does not. With --statistics, prints for each KEY (an F8_E4M3 weight of FILE with its
KEY_scale_inv, or X.weight with X.weight_scale_inv) the min, max, mean and std (Bessel's correction, as
torch.std) of the weight as transformers' Fp8Dequantize makes it, in float32 (figures the app's statistics of
the dequantized weight are tested against). A dev-time tool: the product and
`./fusebox test` stay pure Java; the test resources hold its output.
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file

import transformers
from transformers import AutoModelForCausalLM, FineGrainedFP8Config, Qwen3MoeConfig, Qwen3MoeForCausalLM
from transformers.integrations.finegrained_fp8 import Fp8Dequantize, Fp8Quantize
from transformers.quantizers.quantizer_finegrained_fp8 import FineGrainedFP8HfQuantizer

BLOCK = [32, 16]
QUANTIZED = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def tiny_config():
    return Qwen3MoeConfig(vocab_size=32, hidden_size=64, intermediate_size=128, moe_intermediate_size=96,
                          num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, head_dim=32,
                          num_experts=4, num_experts_per_tok=2, decoder_sparse_step=1, max_position_embeddings=64,
                          tie_word_embeddings=False, dtype="bfloat16")


def quantization_config():
    return {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": BLOCK,
            "modules_to_not_convert": ["lm_head", "model.layers.0.mlp.gate"]}


def make_legacy(out):
    torch.manual_seed(13)
    model = Qwen3MoeForCausalLM(tiny_config()).to(torch.bfloat16)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)
    model.save_pretrained(out)
    weights = os.path.join(out, "model.safetensors")
    tensors = load_file(weights)
    quantizer = FineGrainedFP8HfQuantizer(FineGrainedFP8Config(weight_block_size=BLOCK))
    op = Fp8Quantize(quantizer)
    result = {}
    for key, value in tensors.items():
        module = key.rsplit(".", 2)[-2] if key.endswith(".weight") else ""
        if module in QUANTIZED:
            pair = op.convert({key: value})
            assert pair[key].dtype == torch.float8_e4m3fn, key
            result.update(pair)
        else:
            result[key] = value
    assert any(k.endswith("experts.0.gate_proj.weight") for k in result), sorted(result)
    save_file(result, weights, metadata={"format": "pt"})
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    config["quantization_config"] = quantization_config()
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")


def load(legacy):
    model, info = AutoModelForCausalLM.from_pretrained(legacy, output_loading_info=True)
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        assert not info.get(kind), (kind, info[kind])
    return {k: v.detach().contiguous() for k, v in model.state_dict().items()}


def check_dense(dense, legacy):
    model, info = AutoModelForCausalLM.from_pretrained(dense, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    reference = AutoModelForCausalLM.from_pretrained(legacy)
    tokens = torch.tensor([[1, 5, 7, 3, 9, 2, 30, 0]])
    with torch.no_grad():
        a = model(tokens).logits
        b = reference(tokens).logits
    same = torch.equal(a, b)
    quantized = getattr(model.config, "quantization_config", None) is not None
    print("loading problems:", problems or "none", "| quantizer:", quantized, "| experts:",
          type(model.model.layers[0].mlp.experts).__name__, "| logits equal:", same,
          "| max difference:", (a - b).abs().max().item())
    return 0 if same and not problems and not quantized else 1


def scale_key(key):
    return key[: -len(".weight")] + ".weight_scale_inv" if key.endswith(".weight") else key + "_scale_inv"


def statistics(file, keys):
    tensors = load_file(file)
    dequantize = Fp8Dequantize(FineGrainedFP8HfQuantizer(FineGrainedFP8Config(weight_block_size=BLOCK)))
    for key in keys:
        weight = tensors[key]
        assert weight.dtype == torch.float8_e4m3fn, (key, weight.dtype)
        values = dequantize._dequantize_one(weight, tensors[scale_key(key)], torch.float32).double()
        print(key, list(weight.shape), "min %r max %r mean %r std %r" % (values.min().item(), values.max().item(),
                                                                         values.mean().item(), values.std().item()))
    print("transformers", transformers.__version__, "torch", torch.__version__)


def main():
    if sys.argv[1] == "--check-dense":
        sys.exit(check_dense(sys.argv[2], sys.argv[3]))
    if sys.argv[1] == "--statistics":
        statistics(sys.argv[2], sys.argv[3:])
        return
    out = sys.argv[1]
    legacy = os.path.join(out, "legacy")
    os.makedirs(legacy, exist_ok=True)
    make_legacy(legacy)
    dequantized = load(legacy)
    assert dequantized["model.layers.0.mlp.experts.gate_up_proj"].dtype == torch.bfloat16
    save_file(dequantized, os.path.join(out, "dequantized.safetensors"), metadata={"format": "pt"})
    check = FineGrainedFP8HfQuantizer.validate_environment
    FineGrainedFP8HfQuantizer.validate_environment = lambda self, *args, **kwargs: None
    try:
        fused = load(legacy)
    finally:
        FineGrainedFP8HfQuantizer.validate_environment = check
    assert fused["model.layers.0.mlp.experts.gate_up_proj"].dtype == torch.float8_e4m3fn
    save_file(fused, os.path.join(out, "fused-fp8.safetensors"), metadata={"format": "pt"})
    for name, sd in (("fused-fp8", fused), ("dequantized", dequantized)):
        for k, v in sd.items():
            if "experts" in k:
                print(name, k, str(v.dtype), list(v.shape))
    print("transformers", transformers.__version__, "torch", torch.__version__)


if __name__ == "__main__":
    main()
