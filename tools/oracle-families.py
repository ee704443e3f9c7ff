"""Checks every bundled conversion family against the real transformers, end to end.

    $(tools/setup-python-oracle.sh) tools/oracle-families.py [MODEL_TYPE ...] [--keep DIR]

For each model type the bundled rules name (all of them when none is given), with the installed transformers:
  1. build a tiny random model (hidden 64, 2 layers with at least one MoE layer, 4 experts, vocab 256) and
     save_pretrained it as SAVED: transformers 5 writes the legacy layout on save (checked: SAVED's keys are
     not the model's own v5 state-dict keys);
  2. `./fusebox convert SAVED OUT`: OUT's tensors must be the model's own parameters, byte for byte, under its
     own names; then tools/oracle_check.py: OUT loads with no missing or unexpected keys and gives the
     logits transformers gives for SAVED;
  3. `./fusebox convert OUT BACK`: BACK must load in transformers to the same parameters, and its tensors must
     be byte-identical to SAVED's. Where a rule inverts a renaming more narrowly than transformers' save does
     (hy_v4, see docs/rules.md), the names that differ are reported and the check still passes.
qwen3_vl_moe has no CausalLM class and transformers 5 saves it in the v5 layout, so it is checked its own way
(check_qwen3_vl_moe): a tiny Qwen3VLMoeForConditionalGeneration saved by transformers, its expert tensors
transposed into the 4.x layout, converted, loaded back, converted back. ernie4_5_vl_moe has no CausalLM class either
(check_ernie4_5_vl_moe): a tiny Ernie4_5_VLMoeForConditionalGeneration, saved by transformers in the legacy layout,
converted, loaded back, converted back.
Prints one line per model type (pass / FAIL with the reason / skipped with why) and exits 1 when any failed.
A dev-time tool: it needs torch and transformers; the product and `./fusebox test` stay pure Java.
"""
import argparse
import contextlib
import copy
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from transformers import CONFIG_MAPPING, AutoConfig, AutoModelForCausalLM  # noqa: E402
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(ROOT, "converter/src/main/resources/dev/fusebox/converter/rules")
ORACLE = os.environ.get("FUSEBOX_ORACLE_CHECK", os.path.join(ROOT, "tools/oracle_check.py"))
EXPERTS = 4

# Fields shrunk wherever a family's config has them (names differ between families).
TINY = {
    "vocab_size": 256, "hidden_size": 64, "num_hidden_layers": 2, "num_layers": 2, "max_position_embeddings": 128,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "intermediate_size": 96, "ffn_hidden_size": 96,
    "moe_intermediate_size": 32, "expert_ffn_hidden_size": 32, "shared_expert_intermediate_size": 32,
    "num_local_experts": EXPERTS, "num_experts": EXPERTS, "n_routed_experts": EXPERTS, "moe_num_experts": EXPERTS,
    "num_experts_per_tok": 2, "moe_topk": 2, "moe_k": 2,
    "n_shared_experts": 1, "num_shared_experts": 1, "moe_num_shared_experts": 1,
    "n_group": 1, "topk_group": 1, "first_k_dense_replace": 1, "decoder_sparse_step": 1, "mlp_only_layers": [],
    # multi-head latent attention (DeepSeek-style) and its sparse-attention indexer
    "q_lora_rank": 32, "kv_lora_rank": 16, "qk_rope_head_dim": 8, "qk_nope_head_dim": 8, "v_head_dim": 16,
    "index_topk": 8, "index_head_dim": 16, "index_n_heads": 2,
    "sliding_window": 16, "linear_key_head_dim": 16, "linear_value_head_dim": 16,
    "linear_num_key_heads": 2, "linear_num_value_heads": 4,
    # the defaults point outside a 256-token vocabulary (an embedding's padding_idx must lie inside it)
    "pad_token_id": None, "bos_token_id": None, "eos_token_id": None,
}
# Multi-head latent attention: one key/value head per query head, rotary over qk_rope_head_dim.
LATENT_ATTENTION = {"num_key_value_heads": 4, "head_dim": 8}

# What each family needs beyond TINY: which layers are MoE, its own size fields.
SPECIFIC = {
    "minimax": {"layer_types": ["full_attention", "linear_attention"], "block_size": 16},
    "qwen3_next": {"layer_types": ["linear_attention", "full_attention"]},
    "qwen3_5_moe_text": {"layer_types": ["linear_attention", "full_attention"]},
    "deepseek_v32": {"mlp_layer_types": ["dense", "sparse"]},
    "glm_moe_dsa": {"mlp_layer_types": ["dense", "sparse"]},
    "glm4_moe_lite": {"mlp_layer_types": ["dense", "sparse"]},
    "mellum": {"mlp_layer_types": ["dense", "sparse"]},
    "cohere2_moe": {"prefix_dense_intermediate_size": 96},
    "afmoe": {"num_dense_layers": 1},
    "exaone_moe": {"mlp_layer_types": ["dense", "sparse"]},
    "mimo_v2_flash": {"layer_types": ["full_attention", "sliding_attention"], "mlp_layer_types": ["dense", "sparse"],
                      "head_dim": 16, "v_head_dim": 16},
    "hy_v3": {"mlp_layer_types": ["dense", "sparse"]},
    "laguna": {"mlp_layer_types": ["dense", "sparse"], "num_attention_heads_per_layer": [4, 4]},
    "axk2": {"mlp_layer_types": ["dense", "sparse"], "gated_norm_rank": 4},
    "ernie4_5_moe": {"moe_layer_start_index": 1, "moe_layer_end_index": 1},
    # With zero (identity) experts transformers sizes gate_up_proj for routed + zero experts but down_proj for the
    # routed ones only, and saves gate/up for experts no down_proj matches: not a per-expert layout (see docs/rules.md).
    "longcat_flash": {"zero_expert_num": 0},
    "jamba": {"expert_layer_period": 2, "expert_layer_offset": 1, "attn_layer_period": 2, "attn_layer_offset": 0,
              "mamba_d_state": 8, "mamba_dt_rank": 8},
    "granitemoeshared": {"shared_intermediate_size": 32},
    "granitemoehybrid": {"shared_intermediate_size": 32, "layer_types": ["mamba", "attention"],
                         "mamba_n_heads": 8, "mamba_d_head": 16, "mamba_d_state": 16, "mamba_chunk_size": 16},
    "hy_v4": {"mlp_layer_types": ["dense", "sparse"]},
    "lfm2_moe": {"layer_types": ["conv", "full_attention"], "num_dense_layers": 1},
    "nemotron_h": {"layers_block_type": ["full_attention", "moe"], "moe_shared_expert_intermediate_size": 32},
    "kimi_linear": {"layer_types": ["linear_attention", "full_attention"], "mlp_layer_types": ["dense", "sparse"],
                    "linear_head_dim": 16, "linear_num_heads": 4, "num_experts_per_tok": 2},
}


def rule_model_types():
    """The model types the bundled rule files name, in reading order, with the file naming each."""
    out = {}
    with open(os.path.join(RULES, "families.txt")) as listing:
        for line in listing:
            name = line.strip()
            if name and not name.startswith("#"):
                with open(os.path.join(RULES, name)) as f:
                    for t in json.load(f)["model_types"]:
                        out[t] = name
    return out


def born_fused(rule_file):
    """Whether the family was fused from the start (gpt-oss): there is no legacy layout to check."""
    with open(os.path.join(RULES, rule_file)) as f:
        return bool(json.load(f).get("born_fused", False))


def check_born_fused(saved, out):
    """A born-fused checkpoint is v5 with nothing to convert: inspect says so, convert refuses and writes nothing."""
    layout = json.loads(fusebox("inspect", saved, "--json"))["layout"]
    if layout != "v5":
        raise Failure(f"inspect calls a born-fused checkpoint '{layout}', not v5")
    run = subprocess.run([os.path.join(ROOT, "fusebox"), "convert", saved, out], capture_output=True, text=True)
    if run.returncode != 2 or "nothing to convert" not in run.stderr or os.path.exists(out):
        raise Failure(f"convert of a born-fused checkpoint exited {run.returncode} ({run.stderr.strip()[:200]}), "
                      "not 2 with 'nothing to convert' and no output")
    return None, "born fused: inspect says v5, convert says there is nothing to convert and writes nothing"


def tiny_config(model_type):
    defaults = AutoConfig.for_model(model_type).to_dict()
    kwargs = {k: v for k, v in TINY.items() if k in defaults}
    if "kv_lora_rank" in defaults:
        kwargs.update(LATENT_ATTENTION)
    kwargs.update(SPECIFIC.get(model_type, {}))
    return AutoConfig.for_model(model_type, **kwargs)


def tensors(path):
    out = {}
    for fn in sorted(os.listdir(path)):
        if fn.endswith(".safetensors"):
            with safe_open(os.path.join(path, fn), "pt") as f:
                for k in f.keys():
                    out[k] = f.get_tensor(k)
    return out


def same_bytes(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(
        a.contiguous().view(-1).view(torch.uint8), b.contiguous().view(-1).view(torch.uint8))


def fusebox(*args):
    run = subprocess.run([os.path.join(ROOT, "fusebox"), *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise Failure(f"fusebox {args[0]} exited {run.returncode}: {run.stderr.strip()[:300]}")
    return run.stdout


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def tiny_qwen3_vl_moe(hidden, moe_intermediate):
    """A tiny Qwen3VLMoeForConditionalGeneration: 2 MoE layers of 4 experts, a one-block vision tower."""
    from transformers import Qwen3VLMoeConfig, Qwen3VLMoeForConditionalGeneration
    config = Qwen3VLMoeConfig(
        text_config=dict(vocab_size=256, hidden_size=hidden, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                         moe_intermediate_size=moe_intermediate, num_experts=EXPERTS, num_experts_per_tok=2,
                         max_position_embeddings=128,
                         rope_parameters={"rope_theta": 10000.0, "rope_type": "default", "mrope_section": [2, 3, 3]}),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden,
                           patch_size=4, num_position_embeddings=16, deepstack_visual_indexes=[0]),
        image_token_id=250, video_token_id=251, vision_start_token_id=252, vision_end_token_id=253)
    torch.manual_seed(0)
    return Qwen3VLMoeForConditionalGeneration(config).float().eval()


def write_4x_layout(saved, legacy):
    """SAVED (v5, as transformers 5 writes it) as transformers 4.x stored it: the stacked expert tensors transposed
    to gate_up_proj [E, H, 2I] and down_proj [E, I, H], text_config.num_experts under its 4.x name."""
    from safetensors.torch import save_file
    os.makedirs(legacy)
    out = {k: (t.transpose(1, 2).contiguous() if ".mlp.experts." in k else t) for k, t in tensors(saved).items()}
    save_file(out, os.path.join(legacy, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(saved, "config.json")) as f:
        config = json.load(f)
    config["text_config"]["num_experts"] = config["text_config"].pop("num_local_experts")
    with open(os.path.join(legacy, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def load_qwen3_vl_moe(path):
    from transformers import Qwen3VLMoeForConditionalGeneration
    return load(Qwen3VLMoeForConditionalGeneration, path)


def load(model_class, path):
    """The model transformers loads from PATH, and its loading report."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        model, info = model_class.from_pretrained(path, dtype=torch.float32, output_loading_info=True)
    return model.eval(), {k: sorted(v) for k, v in info.items() if v and k != "error_msgs"}


def text_logits(model, ids=(1, 5, 9, 77, 130, 255)):
    """Logits for a text-only input in float64 with eager attention and experts, as oracle_check computes them
    (float32 grouped_mm differs by ~1e-7 between two loads of the same parameters)."""
    m = copy.deepcopy(model).double()
    m.set_attn_implementation("eager")
    m.set_experts_implementation("eager")
    with torch.no_grad():
        return m(input_ids=torch.tensor([list(ids)])).logits[0]


def convert_both_ways(model_class, legacy, work, v5, reference, layout):
    """`fusebox convert` LEGACY to WORK/v5, which must hold the model's parameters V5 byte for byte and load to them
    with REFERENCE's text logits; then back to WORK/back, which must be byte-identical to LEGACY (LAYOUT names it in
    messages) and load to the same parameters. Returns (max logit diff, LEGACY's tensors); raises Failure."""
    out, back = os.path.join(work, "v5"), os.path.join(work, "back")
    fusebox("convert", legacy, out)
    converted = tensors(out)
    if converted.keys() != v5.keys():
        raise Failure(f"converted keys differ from the model's: {sorted(converted.keys() ^ v5.keys())[:3]}")
    differing = [k for k in converted if not same_bytes(converted[k], v5[k])]
    if differing:
        raise Failure(f"{len(differing)} converted tensors differ from the model's own parameters, e.g. {differing[0]}")
    loaded, info = load(model_class, out)
    if info:
        raise Failure(f"transformers loads the converted checkpoint with {info}")
    if any(not same_bytes(t, v5[k]) for k, t in loaded.state_dict().items()):
        raise Failure("the converted checkpoint loads in transformers to other parameters")
    diff = (text_logits(loaded) - reference).abs().max().item()
    if diff > 1e-4:
        raise Failure(f"logits of the converted checkpoint differ by {diff:.1e}")

    fusebox("convert", out, back)
    want, got = tensors(legacy), tensors(back)
    differing = [k for k in want if k not in got or not same_bytes(want[k], got[k])]
    if differing or want.keys() != got.keys():
        raise Failure(f"round trip: {len(differing)} tensors differ from {layout}, e.g. {differing[:1]}")
    reloaded, info = load(model_class, back)
    if info or any(not same_bytes(t, v5[k]) for k, t in reloaded.state_dict().items()):
        raise Failure(f"the converted-back checkpoint loads in transformers to other parameters {info}")
    return diff, want


def check_qwen3_vl_moe(work):
    """Returns (max logit diff, note); raises Failure."""
    model = tiny_qwen3_vl_moe(64, 48)  # H = 64 is neither 2I = 96 nor I = 48: every shape tells its layout
    saved, legacy = os.path.join(work, "saved"), os.path.join(work, "legacy")
    for d in (saved, legacy):
        shutil.rmtree(d, ignore_errors=True)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        model.save_pretrained(saved)
    v5 = {k: t.detach() for k, t in model.state_dict().items()}
    if any(not same_bytes(t, v5[k]) for k, t in tensors(saved).items()):
        raise Failure("transformers 5 no longer saves qwen3_vl_moe in the v5 layout; the check assumes it does")
    write_4x_layout(saved, legacy)
    by_transformers, info = load_qwen3_vl_moe(legacy)
    if info or any(not same_bytes(t, v5[k]) for k, t in by_transformers.state_dict().items()):
        raise Failure(f"transformers itself does not read the 4.x layout made here back to the model {info}")
    reference = text_logits(by_transformers)
    plan = json.loads(fusebox("plan", legacy, "--json"))
    transposed = [t["key"] for t in plan["targets"] if t["ops"] == ["transpose(1, 2)"]]
    if len(transposed) != 4 or plan["from"] != "legacy":
        raise Failure(f"the plan reads the 4.x checkpoint as {plan['from']} and transposes {transposed}")

    from transformers import Qwen3VLMoeForConditionalGeneration
    diff, want = convert_both_ways(Qwen3VLMoeForConditionalGeneration, legacy, work, v5, reference, "the 4.x layout")
    return diff, (f"round trip byte-identical to the 4.x layout, {len(want)} tensors ({len(transposed)} transposed, "
                  f"{sum(k.startswith('model.visual.') for k in want)} vision tensors as they are); {square_case(work)}")


def square_case(work):
    """hidden 64 = 2 x moe_intermediate 32: gate_up_proj has one shape in both layouts. Measures what transformers
    makes of the 4.x layout (its check sees the v5 shape and leaves the tensor untransposed) against Fusebox."""
    model = tiny_qwen3_vl_moe(64, 32)
    saved, legacy, out = (os.path.join(work, "square", d) for d in ("saved", "legacy", "v5"))
    shutil.rmtree(os.path.join(work, "square"), ignore_errors=True)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        model.save_pretrained(saved)
    write_4x_layout(saved, legacy)
    v5 = {k: t.detach() for k, t in model.state_dict().items()}
    by_transformers, _ = load_qwen3_vl_moe(legacy)
    wrong = sorted(k for k, t in by_transformers.state_dict().items() if not same_bytes(t, v5[k]))
    plan = json.loads(fusebox("plan", legacy, "--json"))
    fusebox("convert", legacy, out)
    by_fusebox, info = load_qwen3_vl_moe(out)
    if info or any(not same_bytes(t, v5[k]) for k, t in by_fusebox.state_dict().items()):
        raise Failure(f"square case: the converted checkpoint loads to other parameters {info}")
    if not plan.get("warnings"):
        raise Failure("square case: the plan does not warn that gate_up_proj's shape fits both layouts")
    off = (text_logits(by_transformers) - text_logits(by_fusebox)).abs().max().item()
    return (f"square case (hidden 64 = 2 x 32): transformers loads the 4.x layout with {len(wrong)} expert tensors "
            f"wrong (logits off by {off:.1e}), Fusebox converts it exactly, with a warning")


def check_ernie4_5_vl_moe(work):
    """Returns (max logit diff, note); raises Failure. Text experts 48 wide, vision ones 32: the two halves of the
    saved expert list differ in shape, as in ERNIE-4.5-VL (1536 and 512)."""
    from transformers import Ernie4_5_VLMoeConfig, Ernie4_5_VLMoeForConditionalGeneration
    config = Ernie4_5_VLMoeConfig(
        text_config=dict(vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16, moe_intermediate_size=[48, 32],
                         moe_num_experts=EXPERTS, moe_k=2, moe_num_shared_experts=1, max_position_embeddings=128,
                         mlp_layer_types=["dense", "sparse"], tie_word_embeddings=False,
                         rope_parameters={"rope_theta": 10000.0, "rope_type": "default", "mrope_section": [3, 3, 2]}),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=4),
        tie_word_embeddings=False)
    torch.manual_seed(0)
    model = Ernie4_5_VLMoeForConditionalGeneration(config).float().eval()
    with torch.no_grad():  # the correction bias starts at zero; make it tell text from vision
        for name, p in model.named_parameters():
            if name.endswith("e_score_correction_bias"):
                p.copy_(torch.randn_like(p))
    saved = os.path.join(work, "saved")
    shutil.rmtree(saved, ignore_errors=True)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        model.save_pretrained(saved)
    v5 = {k: t.detach() for k, t in model.state_dict().items()}
    want = tensors(saved)
    if want.keys() <= v5.keys() or not any(".mlp.experts.7." in k for k in want):
        raise Failure("transformers 5 no longer saves ernie4_5_vl_moe's experts as one legacy list")
    by_transformers, info = load(Ernie4_5_VLMoeForConditionalGeneration, saved)
    if info or any(not same_bytes(t, v5[k]) for k, t in by_transformers.state_dict().items()):
        raise Failure(f"transformers itself does not load what it saved back to the model {info}")
    reference = text_logits(by_transformers)

    diff, _ = convert_both_ways(Ernie4_5_VLMoeForConditionalGeneration, saved, work, v5, reference,
                                "transformers' save")
    return diff, f"round trip byte-identical, {len(want)} legacy tensors, {len(v5)} v5"


def check(model_type, work, rule_file):
    """Returns (max logit diff, or None where there are no logits to compare, note); raises Failure or Skip."""
    if model_type == "qwen3_vl_moe":
        return check_qwen3_vl_moe(work)
    if model_type == "ernie4_5_vl_moe":
        return check_ernie4_5_vl_moe(work)
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise Skip("transformers has no CausalLM class for it (multimodal); oracle_check loads AutoModelForCausalLM")
    saved, out, back = (os.path.join(work, d) for d in ("saved", "v5", "back"))
    torch.manual_seed(0)
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            model = AutoModelForCausalLM.from_config(tiny_config(model_type), dtype=torch.float32)
            model.save_pretrained(saved)
    except Exception as e:  # the tiny config, or transformers itself
        raise Failure(f"transformers could not build/save the tiny model: {type(e).__name__}: {str(e)[:200]}")
    if born_fused(rule_file):
        return check_born_fused(saved, out)
    v5 = {k: t.detach() for k, t in model.state_dict().items()}
    saved_keys = set(tensors(saved))
    if not any("experts" in k or "input_linear" in k for k in saved_keys):
        raise Failure("the tiny model has no MoE layer")
    if saved_keys <= v5.keys():
        raise Failure("save_pretrained wrote the model's own (v5) keys, not a legacy layout")

    fusebox("convert", saved, out)
    converted = tensors(out)
    if converted.keys() - v5.keys():
        raise Failure(f"keys the v5 model does not have: {sorted(converted.keys() - v5.keys())[:3]}")
    differing = [k for k in converted if not same_bytes(converted[k], v5[k])]
    if differing:
        raise Failure(f"{len(differing)} converted tensors differ from the model's own parameters, e.g. {differing[0]}")
    oracle = subprocess.run([sys.executable, ORACLE, "--legacy-base", saved, "--converted-base", out],
                            capture_output=True, text=True)
    try:
        report = json.loads(oracle.stdout)
    except json.JSONDecodeError:
        raise Failure(f"oracle_check exited {oracle.returncode}: {oracle.stderr.strip()[-300:]}")
    base = report["base"]
    # oracle_check takes any key with "block_sparse_moe" for legacy; granitemoe's v5 modules keep that name, and
    # every converted key was just checked to be one of the v5 model's own.
    complaints = {k: v for k, v in base.items() if v and k not in ("passed", "max_abs_diff", "legacy_keys_in_files")}
    if complaints or base["max_abs_diff"] > 1e-4 or any(k not in v5 for k in base["legacy_keys_in_files"]):
        raise Failure("oracle_check: " + json.dumps({k: v for k, v in base.items() if v and k != "passed"}))

    fusebox("convert", out, back)
    with contextlib.redirect_stderr(io.StringIO()):
        reloaded = AutoModelForCausalLM.from_pretrained(back, dtype=torch.float32).state_dict()
    if any(not same_bytes(reloaded[k], v5[k]) for k in v5):
        raise Failure("round trip: the converted-back checkpoint loads in transformers to other parameters")
    want, got = tensors(saved), tensors(back)
    differing = [k for k in want.keys() & got.keys() if not same_bytes(want[k], got[k])]
    if differing:
        raise Failure(f"round trip: {len(differing)} tensors differ, e.g. {differing[0]}")
    if want.keys() != got.keys():
        # transformers saves by inverting its load-time renamings blindly; a rule may invert more narrowly
        renamed = sorted(want.keys() - got.keys())
        return base["max_abs_diff"], (f"round trip: {len(renamed)} names differ from transformers' own "
                                      f"save, e.g. {renamed[0]} -> {sorted(got.keys() - want.keys())[0]}; "
                                      "the rest byte-identical; transformers loads it to the same parameters")
    return base["max_abs_diff"], f"round trip byte-identical, {len(saved_keys)} legacy tensors, {len(converted)} v5"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_types", nargs="*", help="only these (default: every type the bundled rules name)")
    ap.add_argument("--keep", help="keep each type's checkpoints under this folder")
    a = ap.parse_args()
    families = rule_model_types()
    wanted = a.model_types or list(families)
    failed = 0
    print(f"transformers {__import__('transformers').__version__}, torch {torch.__version__}")
    for t in wanted:
        if t not in families:
            print(f"{t:24} FAIL: no bundled rule names it")
            failed += 1
            continue
        if t not in CONFIG_MAPPING:
            print(f"{t:24} skipped: this transformers does not know the model type")
            continue
        work = os.path.join(a.keep, t) if a.keep else tempfile.mkdtemp(prefix=f"oracle-{t}-")
        shutil.rmtree(os.path.join(work, "v5"), ignore_errors=True)
        shutil.rmtree(os.path.join(work, "back"), ignore_errors=True)
        try:
            diff, note = check(t, work, families[t])
            logits = "" if diff is None else f"max |logit diff| {diff:.1e}; "
            print(f"{t:24} pass  {logits}{note} ({families[t]})")
        except Skip as s:
            print(f"{t:24} skipped: {s}")
        except Failure as f:
            print(f"{t:24} FAIL: {f} ({families[t]})")
            failed += 1
        finally:
            if not a.keep:
                shutil.rmtree(work, ignore_errors=True)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
