"""Checks Fusebox's LoRA adapter conversion and its PEFT check against the real PEFT 0.21 on transformers 5.

    ORACLE_PYTHON tools/oracle-lora.py [MODEL_TYPE ...] [--variants NAME,...] [--jobs N] [--results DIR]
        [--markdown FILE] [--json FILE] [--keep DIR] [--fixtures DIR] [--launcher]
    ORACLE_PYTHON tools/oracle-lora.py --render --results DIR --markdown FILE
        (environment: FUSEBOX_LEGACY_PYTHON, a python with transformers 4.57 + PEFT 0.21, from
         tools/setup-legacy-world.sh; without it every adapter is written by hand. JAVA_HOME, a JDK 25.)

For each model type (default: every bundled one transformers 5 has a CausalLM for) and each variant of adapter:
  1. a tiny base (tools/oracle-families.py's tiny_config), saved by transformers 5 in the legacy layout;
  2. a legacy adapter of the variant, made by the real PEFT in the legacy world (tools/make-legacy-adapter.py, one
     process a type) for types transformers 4.57 has, else written by hand as PEFT writes it (keys, shapes, PEFT's
     own LoraConfig file); every lora_B non-zero;
  3. the truth: the legacy adapter merged into the legacy weights in float64 (W + s·B@A, DoRA's m·V/‖V‖ per row,
     lora_bias, modules_to_save), loaded through transformers 5;
  (a) PEFT 0.21 loading the legacy adapter as it is on the v5 model: exact (max |Δlogits| <= 1e-4 against the
      truth), wrong (by how much), or refuses (its error);
  (b) `fusebox plan ADAPTER --base BASE --json`'s peft_check verdict, which must say what (a) saw;
  (c) `fusebox convert ADAPTER OUT --base BASE`, loaded by PEFT 0.21 on the v5 model, against the truth (<= 1e-4),
      or Fusebox's refusal;
  (d) `fusebox convert OUT BACK --base BASE` back to legacy: byte-identical to the legacy adapter, or its own truth
      against the original truth.
The Fusebox commands run through the CLI's own entry point in one JVM a process (tools/FuseboxBatch.java, on the
jars `./fusebox` builds), or with --launcher each through ./fusebox. With --results each type's rows go to
DIR/TYPE.json, replacing only that type's, and --markdown/--json then cover every type saved there: rerunning some
types and writing the table again splices their rows in (--render writes it without running anything). In a
--markdown file that has the BEGIN and END markers below, only the text between them is replaced.
Prints one line per case and a summary; exits 1 when a row fails ((b) disagrees with (a), or (c)/(d) is off).
A dev-time tool: it needs torch, transformers and PEFT; the product and `./fusebox test` stay pure Java.
"""
import argparse
import atexit
import contextlib
import importlib.util
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEGACY_PYTHON = os.environ.get("FUSEBOX_LEGACY_PYTHON")
TOL = 1e-4
TOKENS = [1, 17, 42, 99, 3, 7, 5, 200]

_spec = importlib.util.spec_from_file_location("oracle_families", os.path.join(ROOT, "tools", "oracle-families.py"))
families = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(families)

MIXTRAL = ["w1", "w3", "w2"]
QWEN = ["gate_proj", "up_proj", "down_proj"]
UNGATED = ["up_proj", "down_proj"]  # nemotron_h's experts: no gate branch, nothing fused
# per model type: the experts' leaf names (gate branch, up branch, down) and the router's, when it is a Linear in 4.x
FAMILIES = {
    "mixtral": (MIXTRAL, "gate"),
    "phimoe": (MIXTRAL, "gate"),
    "qwen2_moe": (QWEN, "gate"),
    "qwen3_moe": (QWEN, "gate"),
    "deepseek_v3": (QWEN, None),
    "glm4_moe": (QWEN, None),
    "jamba": (QWEN, "router"),
    "laguna": (QWEN, None),
    "ernie4_5_moe": (QWEN, "gate"),
    "hunyuan_v1_moe": (QWEN, None),
    "dots1": (QWEN, None),
    "minimax": (MIXTRAL, "gate"),
    "minimax_m2": (MIXTRAL, None),
    "olmoe": (QWEN, "gate"),
    "flex_olmo": (QWEN, "gate"),
    "qwen3_next": (QWEN, "gate"),
    "deepseek_v2": (QWEN, None),
    "exaone_moe": (QWEN, None),
    "glm4_moe_lite": (QWEN, None),
}
# Types whose 4.x experts are already stacked parameters (no per-expert Linear): a legacy adapter reaches them only
# through target_parameters (PEFT's ParamWrapper, in the 4.x world as on v5); per type the gate/up and down
# parameters' legacy names and the router's Linear module
STACKED = {
    "granitemoe": (["input_linear.weight", "output_linear.weight"], "layer"),
    "granitemoeshared": (["input_linear.weight", "output_linear.weight"], "layer"),
    "granitemoehybrid": (["input_linear.weight", "output_linear.weight"], "layer"),
    "aria_text": (["experts.fc1.weight", "experts.fc2.weight"], "router"),
    # born fused: the same [E, H, 2I] parameters in 4.57 and 5.18, but only 5.18's experts are is_transposed; its
    # router is a TopKRouter in 4.57 too, so its LoRA is one on the parameter router.weight
    "gpt_oss": (["mlp.experts.gate_up_proj", "mlp.experts.down_proj"], "router.weight"),
    "hy_v4": (["experts.gate_up_proj", "experts.down_proj"], None),  # no 4.x model; its router a bare parameter
}
# extra variants of a STACKED type: name -> target_parameters added to the experts'
STACKED_EXTRA = {"gpt_oss": {"expert biases": ["gate_up_proj_bias", "down_proj_bias"]}}
# per stacked type, the Linear modules v5 renames (hy_v4's linear_gate: the dense MLP's, the shared expert's, the
# attention gate's), a variant of their own beside the experts
RENAMED_LINEARS = {"hy_v4": ["linear_gate", "up_proj", "down_proj"]}
# model types transformers 4.57 lacks: their legacy adapters are written by hand
BY_HAND = {"laguna", "exaone_moe", "minimax_m2", "glm4_moe_lite", "hy_v4"}
DEFAULT_TYPES = ["mixtral", "qwen2_moe", "qwen3_moe", "deepseek_v3", "glm4_moe", "jamba", "phimoe", "laguna"]


def expert_names(base_dir):
    """A type outside FAMILIES: its experts' leaf names (gate branch, up branch, down) from the legacy base's keys."""
    leaves = {m.group(1) for k in tensors(base_dir) if (m := re.search(r"\.experts\.0\.(\w+)\.weight$", k))}
    for names in (QWEN, MIXTRAL, UNGATED):
        if leaves == set(names):
            return names
    raise RuntimeError(f"experts' leaf names {sorted(leaves)} are none of {QWEN}, {MIXTRAL}, {UNGATED}")


def variants(names, router):
    """name -> (LoraConfig kwargs, dtype, .bin)."""
    g, u = names[0], names[1]  # gate and up (for ungated experts: up and down)
    attn = ["q_proj", "v_proj"]
    base = {"r": 4, "lora_alpha": 8}
    out = {
        "attention": ({**base, "target_modules": attn + ["o_proj"]}, "float32", False),
        "experts": ({**base, "target_modules": names}, "float32", False),
        "experts+attention": ({**base, "target_modules": attn + names}, "float32", False),
        "rslora": ({**base, "target_modules": attn + names, "use_rslora": True}, "float32", False),
        "layers_to_transform": ({**base, "target_modules": names, "layers_to_transform": [1]}, "float32", False),
        "regex": ({**base, "target_modules": r".*\.(q_proj|" + "|".join(names) + ")"}, "float32", False),
        "all-linear": ({**base, "target_modules": "all-linear"}, "float32", False),
        "rank/alpha_pattern": ({**base, "target_modules": attn + names, "rank_pattern": {g: 2, "q_proj": 8},
                                "alpha_pattern": {u: 16}}, "float32", False),
        "modules_to_save": ({**base, "target_modules": names, "modules_to_save": ["lm_head"]}, "float32", False),
        "lora_bias attention": ({**base, "target_modules": attn, "lora_bias": True}, "float32", False),
        "lora_bias experts": ({**base, "target_modules": names, "lora_bias": True}, "float32", False),
        "dora attention": ({**base, "target_modules": attn, "use_dora": True}, "float32", False),
        "dora experts": ({**base, "target_modules": names, "use_dora": True}, "float32", False),
        "dropout": ({**base, "target_modules": names, "lora_dropout": 0.05}, "float32", False),
        "float16": ({**base, "target_modules": attn + names}, "float16", False),
        "bfloat16": ({**base, "target_modules": attn + names, "use_rslora": True}, "bfloat16", False),
        ".bin": ({**base, "target_modules": names}, "float32", True),
    }
    if len(names) == 3:
        # gate and up branches at scales 3 and 2: one fused wrapper, B multiplied by 1.5, which bfloat16 rounds
        out["branch scales bfloat16"] = ({**base, "target_modules": names, "alpha_pattern": {g: 12}}, "bfloat16", False)
    if router:
        out["router"] = ({**base, "target_modules": names + [router]}, "float32", False)
    return out


def stacked_variants(params, router, extra=None, linears=None):
    """A type whose 4.x experts are stacked parameters: its experts' LoRA is a target_parameters one; so is its
    router's when ROUTER names a parameter (none when the type has no router LoRA can reach)."""
    attn = ["q_proj", "v_proj"]
    base = {"r": 4, "lora_alpha": 8}
    on_router = None if router is None else (
        {**base, "target_parameters": params + [router]} if router.endswith(".weight")
        else {**base, "target_modules": [router], "target_parameters": params})
    out = {
        "attention": ({**base, "target_modules": attn + ["o_proj"]}, "float32", False),
        "experts": ({**base, "target_parameters": params}, "float32", False),
        "experts+attention": ({**base, "target_modules": attn, "target_parameters": params}, "float32", False),
        "rslora": ({**base, "target_modules": attn, "target_parameters": params, "use_rslora": True}, "float32",
                   False),
        "all-linear": ({**base, "target_modules": "all-linear", "target_parameters": params}, "float32", False),
        "modules_to_save": ({**base, "target_parameters": params, "modules_to_save": ["lm_head"]}, "float32", False),
        **({"router": (on_router, "float32", False)} if on_router else {}),
        "float16": ({**base, "target_modules": attn, "target_parameters": params}, "float16", False),
        "bfloat16": ({**base, "target_modules": attn, "target_parameters": params, "use_rslora": True}, "bfloat16",
                     False),
        ".bin": ({**base, "target_parameters": params}, "float32", True),
        "dora experts": ({**base, "target_parameters": params, "use_dora": True}, "float32", False),
        **{name: ({**base, "target_parameters": params + more}, "float32", False)
           for name, more in (extra or {}).items()},
    }
    if linears:
        out["renamed linears"] = ({**base, "target_modules": linears, "target_parameters": params}, "float32", False)
    return out


def tensors(path):
    out = {}
    for fn in sorted(os.listdir(path)):
        if fn.endswith(".safetensors"):
            with safe_open(os.path.join(path, fn), "pt") as f:
                for k in f.keys():
                    out[k] = f.get_tensor(k)
        elif fn.endswith(".bin"):
            out.update(torch.load(os.path.join(path, fn), weights_only=True))
    return out


def quiet(fn, *args, **kwargs):
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def load(path):
    return quiet(AutoModelForCausalLM.from_pretrained, path, dtype=torch.float64, attn_implementation="eager",
                 experts_implementation="eager").eval()


def logits(model):
    with torch.no_grad():
        return model(input_ids=torch.tensor([TOKENS])).logits[0]


def pattern_value(patterns, module, default):
    for pat, val in (patterns or {}).items():
        if re.match(rf"(.*\.)?({pat})$", module):
            return val
    return default


def delta(w, A, B):
    """B@A, or for LoRA on a stacked [E, d1, d2] parameter (PEFT's ParamWrapper in the 4.x world, which has no
    is_transposed and so swaps in and out): expert e's B[:, k·E + e] @ A[e·r + k, :], of the parameter's shape."""
    if w.dim() == 2:
        return B @ A
    experts = w.shape[0]
    a = A.reshape(experts, -1, A.shape[-1])
    b = B.reshape(B.shape[0], -1, experts)
    return torch.einsum("ore,eri->eoi", b, a)


# Modules whose weight the model reads directly instead of calling the module (jamba's Mamba mixer computes
# `dt_proj.weight @ time_step`, longcat_flash's router `F.linear(x, classifier.weight)`), so that a LoRA on them does
# nothing in PEFT, in the legacy world as on v5: the truth leaves them unmerged, as the legacy adapter computes.
WEIGHT_READ_DIRECTLY = (".mamba.dt_proj", ".mlp.router.classifier")


_REGISTERED = {}


def wrapped_parameter(module, cfg, base_dir, base):
    """The base tensor a LoRA module's factors adapt: MODULE.weight, or for PEFT's ParamWrappers nested around one
    module (gpt_oss's experts: one per targeted parameter, each around the one before, the parameter the module
    registers first innermost) the one at the depth MODULE's trailing base_layers tell."""
    holder, depth = module, 0
    while holder.endswith(".base_layer"):
        holder, depth = holder[:-len(".base_layer")], depth + 1
    if base_dir not in _REGISTERED:
        from transformers import AutoConfig
        with torch.device("meta"):
            model = quiet(AutoModelForCausalLM.from_config, AutoConfig.from_pretrained(base_dir))
        _REGISTERED[base_dir] = [k for k, _ in model.named_parameters()]
    targets = cfg.get("target_parameters") or []
    held = [k for k in _REGISTERED[base_dir] if k.rpartition(".")[0] == holder and k in base
            and any(k == t or k.endswith("." + t) for t in targets)]
    return held[len(held) - 1 - depth] if held and depth < len(held) else module + ".weight"


def truth(base_dir, adapter_dir):
    """Logits of the legacy adapter merged into the legacy weights in float64, loaded through transformers 5."""
    cfg = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    base = {k: v.double() for k, v in tensors(base_dir).items()}
    lora = {k: v.double() for k, v in tensors(adapter_dir).items()}
    prefix = "base_model.model."
    for k, A in lora.items():
        if not k.endswith("lora_A.weight"):
            continue
        module = k[len(prefix):-len(".lora_A.weight")]
        if module.endswith(WEIGHT_READ_DIRECTLY):
            continue
        target = wrapped_parameter(module, cfg, base_dir, base)
        module = module.replace(".base_layer", "")  # patterns and magnitudes name the module PEFT wrapped
        B = lora[k.replace("lora_A", "lora_B")]
        r = pattern_value(cfg.get("rank_pattern"), module, cfg["r"])
        alpha = pattern_value(cfg.get("alpha_pattern"), module, cfg["lora_alpha"])
        if r * (base[target].shape[0] if base[target].dim() == 3 else 1) != A.shape[0]:
            raise RuntimeError(f"{module}: rank {r} from the config, {A.shape[0]} in the tensors")
        s = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
        w = base[target] + s * delta(base[target], A, B)
        m = lora.get(prefix + module + ".lora_magnitude_vector")
        if m is None:
            m = lora.get(prefix + module + ".lora_magnitude_vector.weight")
        if m is not None:
            w = (m / torch.linalg.norm(w, dim=1))[:, None] * w
        base[target] = w
        bias = lora.get(k.replace("lora_A.weight", "lora_B.bias"))
        if bias is not None:
            if module + ".bias" not in base:
                raise Skip(f"{module} has no bias in the base, so a lora_bias cannot be merged into it for the truth")
            base[module + ".bias"] = base[module + ".bias"] + s * bias
    for k, t in lora.items():
        if ".lora_" not in k:
            name = k[len(prefix):].replace(".modules_to_save.default", "").replace(".modules_to_save", "")
            if name not in base:
                raise RuntimeError(f"{k}: no base tensor {name}")
            base[name] = t
    tmp = tempfile.mkdtemp()
    try:
        shutil.copy(os.path.join(base_dir, "config.json"), tmp)
        save_file({k: v.contiguous() for k, v in base.items()}, os.path.join(tmp, "model.safetensors"))
        return logits(load(tmp))
    finally:
        shutil.rmtree(tmp)


def peft_logits(base_dir, adapter_dir):
    """(logits, None) of PEFT 0.21 loading the adapter on the v5 model, or (None, its error)."""
    from peft import PeftModel
    model = load(base_dir)
    try:
        pm = quiet(PeftModel.from_pretrained, model, adapter_dir)
    except Exception as e:  # what PEFT raises is the finding
        return None, f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
    return logits(pm.eval()), None


class Batch:
    """One JVM running every Fusebox command of this process through the CLI's own Cli.run (tools/FuseboxBatch.java),
    instead of a JVM per command: the oracle makes about 55 calls a type, each ~0.7 s of start-up on its own."""

    def __init__(self):
        java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
        self.proc = subprocess.Popen(
            [java, "-p", os.path.join(ROOT, "app", "target", "lib"), "--add-modules", "dev.fusebox.converter",
             "--add-exports", "dev.fusebox.converter/dev.fusebox.converter.cli=ALL-UNNAMED",
             os.path.join(ROOT, "tools", "FuseboxBatch.java")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, encoding="utf-8")
        atexit.register(self.close)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()

    def run(self, args):
        self.proc.stdin.write(json.dumps(list(args)) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"tools/FuseboxBatch.java ended (exit {self.proc.wait()}); rerun with --launcher")
        answer = json.loads(line)
        return answer["rc"], answer["out"], answer["err"]


BATCH = None  # the Batch, started at the first call; None with --launcher


def fusebox(*args):
    if BATCH is not None:
        return BATCH.run(args)
    run = subprocess.run([os.path.join(ROOT, "fusebox"), *args], capture_output=True, text=True)
    return run.returncode, run.stdout, run.stderr


def module_names(base):
    """Every module name the legacy base's tensor keys imply (each key's every prefix)."""
    return sorted({k.rsplit(".", n)[0] for k in base for n in range(1, k.count(".") + 1)})


def linear_modules(base):
    """The modules the legacy model holds as nn.Linear, from the base's keys: 2-d weights, less the embeddings, norms,
    lm_head and DeepSeek-style top-k routers (a weight beside an e_score_correction_bias: a bare nn.Parameter)."""
    return [k[:-len(".weight")] for k, w in base.items() if k.endswith(".weight") and w.dim() == 2
            and "embed" not in k and "norm" not in k and k != "lm_head.weight"
            and k[:-len(".weight")] + ".e_score_correction_bias" not in base]


def resolve_all_linear(base):
    """What PEFT 0.21 saves for target_modules "all-linear": every Linear but the output layer, shortened to the
    minimal suffixes when there are 20 or more (tuners_utils.inject_adapter, with its own
    _find_minimal_target_modules)."""
    from peft.tuners.tuners_utils import _find_minimal_target_modules
    from peft.utils.constants import MIN_TARGET_MODULES_FOR_OPTIMIZATION
    linear = linear_modules(base)
    if len(linear) < MIN_TARGET_MODULES_FOR_OPTIMIZATION:
        return sorted(linear)
    suffixes = tuple("." + m for m in linear)
    others = [m for m in module_names(base) if m not in linear and not m.endswith(suffixes)]
    return sorted(_find_minimal_target_modules(linear, others))


def targeted_parameters(base, entries):
    """{module: [parameter keys]} that PEFT's target_parameters entries wrap (a key equal to an entry or ending in
    "." + it), each module's in the entries' order, the first innermost. PEFT nests its ParamWrappers in the order
    the module registers its parameters (see wrapped_parameter), so this holds where the entries list them in that
    order, as every by-hand variant does (gate/up before down)."""
    out = {}
    for entry in entries:
        for key in base:
            if key == entry or key.endswith("." + entry):
                out.setdefault(key.rpartition(".")[0], []).append(key)
    return out


def make_by_hand(base_dir, out, kwargs, dtype, as_bin, seed):
    """The adapter PEFT would save for these LoraConfig kwargs on the 4.x model, from the base's legacy keys; or the
    Skip saying PEFT would refuse to make it."""
    from peft import LoraConfig
    g = torch.Generator().manual_seed(seed)
    targets = kwargs.get("target_modules") or []
    base = tensors(base_dir)
    linear = linear_modules(base)
    if targets == "all-linear":  # PEFT saves the names it resolved "all-linear" to, not the shorthand
        targets = resolve_all_linear(base)
        kwargs = {**kwargs, "target_modules": targets}
    params = targeted_parameters(base, kwargs.get("target_parameters") or [])
    if params:
        for flag, what in (("use_dora", "use_dora=True"), ("lora_bias", "lora_bias=True"),
                           ("lora_dropout", "lora_dropout != 0")):
            if kwargs.get(flag):
                return Skip(f"PEFT in the legacy world refuses the variant: ValueError: lora.ParamWrapper does not "
                            f"work with {what}.")
    cfg = LoraConfig(**kwargs)
    state, hits = {}, set()
    for module in module_names(base):
        if isinstance(targets, str):
            hit = re.fullmatch(targets, module) is not None
        else:
            hit = any(module == t or module.endswith("." + t) for t in targets)
        layers = kwargs.get("layers_to_transform")
        if layers is not None:
            m = re.search(r"\.layers\.(\d+)\.", module)
            hit = hit and m is not None and int(m.group(1)) in layers
        if hit and module not in linear and any(base[k].dim() == 3 for k in base if k.rpartition(".")[0] == module):
            return Skip(f"PEFT in the legacy world refuses the variant: ValueError: Target module {module} (stacked "
                        "experts) is not supported")
        if not hit or module not in linear:
            continue
        hits.add(module)
        w = base[module + ".weight"]
        r = pattern_value(kwargs.get("rank_pattern"), module, kwargs["r"])
        p = "base_model.model." + module
        state[p + ".lora_A.weight"] = torch.randn(r, w.shape[1], generator=g) / math.sqrt(w.shape[1])
        state[p + ".lora_B.weight"] = torch.randn(w.shape[0], r, generator=g) * 0.3
        if kwargs.get("lora_bias"):
            state[p + ".lora_B.bias"] = torch.randn(w.shape[0], generator=g) * 0.3
        if kwargs.get("use_dora"):
            state[p + ".lora_magnitude_vector"] = torch.linalg.norm(w, dim=1) * (1 + 0.2 * torch.rand(w.shape[0]))
    for module, keys in params.items():
        if module in hits:
            return Skip(f"PEFT in the legacy world refuses the variant: ValueError: Trying to wrap an `nn.Parameter` "
                        f"of layer '{module}' of type Linear, which is already a LoRA layer")
        for depth, key in enumerate(reversed(keys)):  # the last one wrapped is the outermost
            w, r = base[key], kwargs["r"]
            p = "base_model.model." + module + ".base_layer" * depth
            if w.dim() == 3:  # ParamWrapper on [E, d1, d2], not is_transposed: in and out swapped, r per expert
                a_shape, b_shape = (w.shape[0] * r, w.shape[2]), (w.shape[1], r * w.shape[0])
            else:
                a_shape, b_shape = (r, w.shape[1]), (w.shape[0], r)
            state[p + ".lora_A.weight"] = torch.randn(*a_shape, generator=g) / math.sqrt(a_shape[1])
            state[p + ".lora_B.weight"] = torch.randn(*b_shape, generator=g) * 0.3
    if not state:  # PEFT raises "Target modules ... not found in the base model" for it in the legacy world too
        return Skip(f"PEFT in the legacy world refuses the variant: target modules {targets} match no module")
    for name in kwargs.get("modules_to_save") or []:
        state[f"base_model.model.{name}.weight"] = torch.randn_like(base[f"{name}.weight"]) * 0.3
    os.makedirs(out)
    state = {k: v.to(getattr(torch, dtype)).contiguous() for k, v in state.items()}
    if as_bin:
        torch.save(state, os.path.join(out, "adapter_model.bin"))
    else:
        save_file(state, os.path.join(out, "adapter_model.safetensors"), metadata={"format": "pt"})
    cfg.base_model_name_or_path = os.path.abspath(base_dir)
    cfg.save_pretrained(out)


def make_adapters(model_type, jobs):
    """Makes every job's adapter: with the real PEFT in the legacy world (one process) for types transformers 4.57
    has, else by hand. Returns {out: 'peft' | 'by hand' | Skip}."""
    made, run = {}, None
    if LEGACY_PYTHON and model_type not in BY_HAND and jobs:
        listing = os.path.join(os.path.dirname(jobs[0]["out"]), "..", "jobs.json")
        with open(listing, "w") as f:
            json.dump(jobs, f)
        run = subprocess.run([LEGACY_PYTHON, os.path.join(ROOT, "tools", "make-legacy-adapter.py"), listing],
                             capture_output=True, text=True)
        for line in run.stdout.splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                if r["ok"]:
                    made[r["out"]] = "peft"
                elif not r["error"].startswith("NameError: names"):
                    made[r["out"]] = Skip(f"PEFT in the legacy world refuses the variant: {r['error'][:140]}")
    for job in jobs:
        if job["out"] not in made:
            refused = make_by_hand(job["base"], job["out"], job["config"], job["dtype"], job["bin"], job["seed"])
            made[job["out"]] = refused or "by hand"
    return made


class Skip(Exception):
    pass


def outcome(got, error, want, ref):
    if error:
        return "refuses", error
    d = (got - want).abs().max().item()
    if d <= TOL:
        return "exact", f"{d:.1e}"
    return "wrong", f"off by {d:.2g} (adapter effect {(want - ref).abs().max().item():.2g})"


VERDICT = {"loads_exactly": "exact", "refuses": "refuses", "loads_wrong": "wrong"}


def case_dir(work, name):
    return os.path.join(work, re.sub(r"[^a-z0-9]+", "_", name.lower()))


def base_for(work, base_dir, adapter_dir):
    """The legacy base an adapter converted back is merged into: the legacy base itself, or where the adapter names
    modules it has not (hy_v4's dense mlp.linear_gate comes back as mlp.gate_proj, which transformers loads too),
    that base converted to v5 and back by Fusebox, whose names the adapter's are."""
    have = {k.rpartition(".")[0] for k in tensors(base_dir)}
    names = {re.sub(r"(\.base_layer)*\.lora_[AB]\.weight$", "", k[len("base_model.model."):])
             for k in tensors(adapter_dir) if k.endswith(".lora_A.weight")}
    if names <= have:
        return base_dir
    there, back = os.path.join(work, "base-v5"), os.path.join(work, "base-back")
    if not os.path.exists(os.path.join(back, "config.json")):
        for src, dst in ((base_dir, there), (there, back)):
            rc, _, err = fusebox("convert", src, dst)
            if rc != 0:
                raise RuntimeError(f"fusebox convert of the base: {err.strip()[:200]}")
    return back


def run_case(work, base_dir, ref, name, made):
    case = case_dir(work, name)
    legacy, v5, back = (os.path.join(case, d) for d in ("legacy", "v5", "back"))
    model_type = os.path.basename(work)
    if isinstance(made, Skip):
        raise made
    try:
        want = truth(base_dir, legacy)
    except Skip:
        want = None  # no merged truth (a lora_bias where the base has no bias): only refusals can be compared
    row = {"type": model_type, "variant": name, "made": made,
           "effect": "-" if want is None else f"{(want - ref).abs().max().item():.2g}"}
    got, error = peft_logits(base_dir, legacy)
    if want is None and not error:
        raise Skip("no merged truth (the base has no bias for a lora_bias), and PEFT loads it")
    row["peft"], row["peft_detail"] = outcome(got, error, want, ref)
    rc, out, err = fusebox("plan", legacy, "--base", base_dir, "--json")
    if rc != 0:
        # a refusal to convert still says what PEFT alone would do
        said = re.search(r"PEFT check \((\w+)\)", err)
        row["plan"] = VERDICT.get(said.group(1), said.group(1)) if said else "error"
        row["plan_detail"] = err.strip()[:300]
    else:
        check = json.loads(out).get("peft_check", {})
        row["plan"] = VERDICT.get(check.get("verdict"), check.get("verdict"))
        row["plan_detail"] = " ".join(check.get("reasons", []))[:300]
    rc, out, err = fusebox("convert", legacy, v5, "--base", base_dir)
    if rc != 0 or want is None:
        row["fusebox"], row["fusebox_detail"] = ("refuses", err.strip()[:400]) if rc else ("wrong", "no truth")
    elif not os.path.exists(os.path.join(v5, "adapter_config.json")):
        row["fusebox"], row["fusebox_detail"] = "nothing", out.strip()[:200]
    else:
        got, error = peft_logits(base_dir, v5)
        row["fusebox"], row["fusebox_detail"] = outcome(got, error, want, ref)
        rc, out, err = fusebox("convert", v5, back, "--base", base_dir)
        if rc != 0:
            row["back"] = "refuses: " + err.strip()[:200]
        else:
            a, b = tensors(legacy), tensors(back)
            same = a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)
            if same:
                row["back"] = "bytes"
            else:
                d = (truth(base_for(work, base_dir, back), back) - want).abs().max().item()
                row["back"] = f"{d:.1e}" if d <= TOL else f"off by {d:.2g}"
    ok = row["plan"] == row["peft"]
    # Fusebox may refuse what has no v5 form (DoRA, lora_bias, fan_in_fan_out on parameters) whatever PEFT does
    honest = row["fusebox"] == "refuses" and ("has no form on" in row["fusebox_detail"] or row["peft"] == "refuses")
    ok &= row["fusebox"] in ("exact", "nothing") or honest
    ok &= row.get("back", "bytes") in ("bytes",) or not row.get("back", "").startswith(("off", "refuses"))
    row["ok"] = bool(ok)
    return row


def export(out, base_dir, legacy, row):
    """A case as a unit-test fixture (converter's test resources lora/oracle): OUT/adapter, the legacy adapter as made
    (without PEFT's model card); OUT/row.json, what PEFT and Fusebox did; OUT/../base, the base's config.json and
    its tensors' names, dtypes and shapes (a test builds a base of zeros from them)."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(legacy, os.path.join(out, "adapter"), ignore=shutil.ignore_patterns("README.md"))
    path = os.path.join(out, "adapter", "adapter_config.json")
    with open(path) as f:
        config = json.load(f)
    config["base_model_name_or_path"] = f"fusebox-oracle/tiny-{row['type']}"  # not this machine's folder
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    base = os.path.join(os.path.dirname(out), "base")
    os.makedirs(base, exist_ok=True)
    shutil.copy(os.path.join(base_dir, "config.json"), base)
    shapes = {}
    with safe_open(os.path.join(base_dir, "model.safetensors"), "pt") as f:
        for k in sorted(f.keys()):
            t = f.get_slice(k)
            shapes[k] = {"dtype": t.get_dtype(), "shape": t.get_shape()}
    with open(os.path.join(base, "tensors.json"), "w") as f:
        json.dump(shapes, f, indent=1)
    work = os.path.dirname(os.path.dirname(legacy)) + "/"
    with open(os.path.join(out, "row.json"), "w") as f:
        json.dump({k: v.replace(work, "") if isinstance(v, str) else v for k, v in row.items()}, f, indent=1)


REFUSALS = [  # the words of a Fusebox refusal, and what the table and the summary call it
    ("renamed stacked parameter of this family", "LoRA on a renamed stacked parameter, not converted"),
    ("rename it to the stacked v5 parameter", "LoRA on renamed stacked parameters beside a router LoRA, not converted"),
    ("born fused", "a born-fused family's adapter (4.x expert factors transposed on v5)"),
]
SKIPS = [  # the words of a skipped row's reason, and what the summary calls it
    ("no merged truth", "`lora_bias` on modules the tiny base has no bias for (no merged truth)"),
    ("ParamWrapper does not work", "PEFT in the legacy world refuses DoRA on stacked parameters"),
    ("Trying to wrap an `nn.Parameter`", "PEFT in the legacy world refuses `all-linear` beside `target_parameters` "
                                        "that name a Linear's weight too (the shared MLP's `input_linear`)"),
    ("match no module", "PEFT in the legacy world finds none of the target modules (q_proj/v_proj on types whose "
                        "attention names them otherwise)"),
    ("not found in the base model", "PEFT in the legacy world finds none of the target modules (q_proj/v_proj on "
                                    "types whose attention names them otherwise)"),
]


def named(text, names):
    """The name the first matching entry of names gives text, else its first words."""
    return next((name for words, name in names if words in text), None)


def refusal(detail):
    """A Fusebox refusal in a few words."""
    m = re.search(r"cannot convert: ([^(.]*)", detail)
    return named(detail, REFUSALS) or (m.group(1).strip() if m else detail[:60])


def table(rows):
    """The rows as docs/lora.md's table, grouped by model type."""
    out = ["| model type | adapter | made by | PEFT 0.21 alone (max \\|Δlogits\\|) | plan's PEFT check | "
           "Fusebox's v5 adapter in PEFT | back to legacy |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "skipped" in r:
            out.append(f"| {r['type']} | {r['variant']} | | skipped: {r['skipped'][:90]} | | | |")
            continue
        peft = {"exact": "exact", "wrong": "**wrong**, " + r["peft_detail"].replace("off by ", "")[:40],
                "refuses": "refuses: " + r["peft_detail"].split(":")[0]}[r["peft"]]
        plan = r["plan"] + ("" if r["plan"] == r["peft"] else " **(≠)**")
        fusebox = {"exact": f"exact ({r['fusebox_detail']})", "nothing": "nothing to convert",
                   "wrong": f"**{r['fusebox_detail']}**"}.get(r["fusebox"], "refuses")
        if r["fusebox"] == "refuses":
            fusebox = "refuses: " + refusal(r["fusebox_detail"])
        out.append(f"| {r['type']} | {r['variant']} | {r['made']} | {peft} | {plan} | {fusebox} | "
                   f"{r.get('back', '-')} |")
    return "\n".join(out) + "\n"


BEGIN = "<!-- tools/oracle-lora.py --markdown writes from here -->"
END = "<!-- to here -->"


def span(values):
    """'lo–hi' of some numbers, as the table prints them."""
    return f"{min(values):.2g}–{max(values):.2g}" if values else "-"


def summary(rows, saved, without_causal_lm):
    """What the rows add up to, in the words docs/lora.md uses."""
    done = [r for r in rows if "skipped" not in r]
    skipped = [r for r in rows if "skipped" in r]
    count = lambda key, value: sum(r[key] == value for r in done)  # noqa: E731
    wrong = [r for r in done if r["peft"] == "wrong"]
    offs = [float(m.group(1)) for r in wrong if (m := re.match(r"off by ([\d.e+-]+)", r["peft_detail"]))]
    effects = [float(r["effect"]) for r in done if r["effect"] != "-"]
    exact = [r for r in done if r["fusebox"] == "exact"]
    worst = max((float(r["fusebox_detail"]) for r in exact), default=0.0)
    backs = [r.get("back", "-") for r in exact]
    near = [float(b) for b in backs if re.fullmatch(r"[\d.e+-]+", b)]
    refused = [r for r in done if r["fusebox"] == "refuses"]
    reasons = {}
    for r in refused:
        reason = refusal(r["fusebox_detail"])
        reasons[reason] = reasons.get(reason, 0) + 1
    failed = [r for r in rows if not r["ok"]]
    dates = sorted({s["date"] for s in saved.values()}) if saved else []
    seconds = [s["seconds"] for s in saved.values()] if saved else []
    types = list(dict.fromkeys(r["type"] for r in rows))
    lines = [
        f"{len(types)} model types, {len(rows)} rows, {len(done)} compared, {len(skipped)} skipped; "
        + (f"**{len(failed)} rows failed**: " + ", ".join(f"{r['type']} {r['variant']}" for r in failed) + "."
           if failed else "**every row right**.")
        + (f" Run {' and '.join(dates)}; the types took {min(seconds)}–{max(seconds)} s each, "
           f"{sum(seconds) / 60:.0f} min together." if seconds else ""),
        "",
        f"PEFT 0.21 alone loads {count('peft', 'exact')} of the {len(done)} legacy adapters exactly, refuses "
        f"{count('peft', 'refuses')} and loads {len(wrong)} wrong, silently (by {span(offs)} in logits, against "
        f"adapter effects of {span(effects)}). The PEFT check in `fusebox plan` says what PEFT did in "
        f"{sum(r['plan'] == r['peft'] for r in done)} of the {len(done)}.",
        "",
        f"Fusebox converts {len(exact)} exactly (max |Δlogits| {worst:.1e}); {backs.count('bytes')} of them convert "
        f"back byte for byte" + (f", {len(near)} within {max(near):.1e} of their own truth" if near else "")
        + (f"; {count('fusebox', 'nothing')} need no conversion" if count('fusebox', 'nothing') else "")
        + f". It refuses {len(refused)}"
        + (": " + "; ".join(f"{reason} ({n})" for reason, n in sorted(reasons.items(), key=lambda x: -x[1]))
           if reasons else "") + ".",
    ]
    if skipped:
        why = {}
        for r in skipped:
            reason = named(r["skipped"], SKIPS) or r["skipped"][:110]
            why[reason] = why.get(reason, []) + [f"{r['type']} {r['variant']}"]
        lines += ["", f"Skipped ({len(skipped)}): " + "; ".join(
            f"{reason} ({len(cases)})" for reason, cases in sorted(why.items(), key=lambda x: -len(x[1]))) + "."]
    if without_causal_lm:
        lines += ["", "Bundled model types transformers 5.18 has no CausalLM for (not run): "
                  + ", ".join(without_causal_lm) + "."]
    return "\n".join(textwrap.fill(line, 118, break_long_words=False, break_on_hyphens=False) for line in lines) + "\n"


def write_markdown(path, rows, saved, without_causal_lm):
    """The summary and the table, into PATH between BEGIN and END where it has both, else as the whole file."""
    text = f"{BEGIN}\n\n{summary(rows, saved, without_causal_lm)}\n{table(rows)}\n{END}"
    old = open(path).read() if os.path.exists(path) else ""
    if BEGIN in old and END in old:
        text = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END):]
    with open(path, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


RULES = os.path.join(ROOT, "converter", "src", "main", "resources", "dev", "fusebox", "converter", "rules")


def bundled_types():
    """Every model type of the bundled rule files, in families.txt's order: (those transformers 5 has a CausalLM
    for, those it has none for)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    types = []
    with open(os.path.join(RULES, "families.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                with open(os.path.join(RULES, line.strip())) as rule:
                    types += json.load(rule)["model_types"]
    return ([t for t in types if t in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES],
            [t for t in types if t not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES])


def run_type(t, a):
    """Every chosen variant of model type t: its rows, each printed as it is done."""
    rows = []
    work = os.path.join(a.keep or tempfile.mkdtemp(prefix="oracle-lora-"), t)  # the folder's name is the type
    base_dir = os.path.join(work, "base")
    if not os.path.exists(os.path.join(base_dir, "config.json")):
        torch.manual_seed(0)
        config = families.tiny_config(t)
        config.tie_word_embeddings = False  # a modules_to_save lm_head needs a weight of its own in the truth
        model = quiet(AutoModelForCausalLM.from_config, config, dtype=torch.float32)
        quiet(model.save_pretrained, base_dir)
    try:
        if t in STACKED:
            table = stacked_variants(*STACKED[t], STACKED_EXTRA.get(t), RENAMED_LINEARS.get(t))
        else:
            table = variants(*(FAMILIES[t] if t in FAMILIES else (expert_names(base_dir), None)))
        ref = logits(load(base_dir))
    except Exception as e:  # a type the oracle cannot make adapters for is a failed row, not the end of the run
        row = {"type": t, "variant": "(all)", "skipped": f"ERROR {type(e).__name__}: {e}"[:300], "ok": False}
        print(f"{t:14} FAIL: {row['skipped']}", flush=True)
        return [row]
    wanted = a.variants.split(",") if a.variants else None
    chosen = [(seed, name, spec) for seed, (name, spec) in enumerate(table.items()) if not wanted or name in wanted]
    jobs = []
    for seed, name, (kwargs, dtype, as_bin) in chosen:
        shutil.rmtree(case_dir(work, name), ignore_errors=True)
        os.makedirs(case_dir(work, name))
        jobs.append({"base": base_dir, "out": os.path.join(case_dir(work, name), "legacy"), "config": kwargs,
                     "dtype": dtype, "bin": as_bin, "seed": seed})
    made = make_adapters(t, jobs)
    for (seed, name, spec), job in zip(chosen, jobs):
        try:
            row = run_case(work, base_dir, ref, name, made[job["out"]])
        except Skip as s:
            row = {"type": t, "variant": name, "skipped": str(s), "ok": True}
        except Exception as e:  # a broken case is a failed row, not the end of the run
            row = {"type": t, "variant": name, "skipped": f"ERROR {type(e).__name__}: {e}"[:300], "ok": False}
        rows.append(row)
        if a.fixtures and "skipped" not in row:
            export(os.path.join(a.fixtures, t, os.path.basename(case_dir(work, name))), base_dir,
                   os.path.join(case_dir(work, name), "legacy"), row)
        if "skipped" in row:
            print(f"{t:14} {name:20} {'skipped' if row['ok'] else 'FAIL'}: {row['skipped']}", flush=True)
        else:
            print(f"{t:14} {name:20} {'ok  ' if row['ok'] else 'FAIL'} [{row['made']}] effect {row['effect']}; "
                  f"PEFT {row['peft']} ({row['peft_detail']}); plan {row['plan']}; fusebox {row['fusebox']} "
                  f"({row['fusebox_detail'][:160]}); back {row.get('back', '-')}"
                  + ("" if row["plan"] == row["peft"] else f"; plan says: {row['plan_detail'][:200]}"), flush=True)
    if not a.keep:
        shutil.rmtree(os.path.dirname(work), ignore_errors=True)
    here = os.path.dirname(work) + "/"  # the rows name no folder of this machine's
    return [{k: v.replace(here, "") if isinstance(v, str) else v for k, v in row.items()} for row in rows]


def save_type(results, t, rows, seconds, some_variants):
    """RESULTS/TYPE.json: one type's rows, so that a rerun of some types replaces only theirs (and a rerun of
    some variants only those rows of the type, the others kept in their places)."""
    os.makedirs(results, exist_ok=True)
    path = os.path.join(results, t + ".json")
    if some_variants and os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        kept = {r["variant"]: r for r in saved["rows"]}
        kept.update({r["variant"]: r for r in rows})
        seconds = saved["seconds"]  # the time of the whole type, which a few variants do not give
        rows = list(kept.values())
    with open(path, "w") as f:
        json.dump({"type": t, "date": time.strftime("%Y-%m-%d", time.gmtime()), "seconds": round(seconds),
                   "rows": rows}, f, indent=1)


def load_results(results, order):
    """Every type's saved rows under RESULTS, in the bundled types' order: (rows, {type: saved record})."""
    saved = {}
    for fn in sorted(os.listdir(results)):
        if fn.endswith(".json"):
            with open(os.path.join(results, fn)) as f:
                record = json.load(f)
            saved[record["type"]] = record
    ranked = sorted(saved, key=lambda t: (order.index(t) if t in order else len(order), t))
    return [r for t in ranked for r in saved[t]["rows"]], {t: saved[t] for t in ranked}


def run_in_workers(types, a):
    """Each type in a process of its own (this script on one type), a.jobs at a time; their rows land in
    a.results. Returns how many of them failed to run."""
    pending, running, broken = list(types), [], 0
    passed = [f"--results={a.results}"] + [f"--{k}={v}" for k, v in (("variants", a.variants), ("keep", a.keep),
                                                                       ("fixtures", a.fixtures)) if v]
    passed += ["--launcher"] if a.launcher else []
    while pending or running:
        while pending and len(running) < a.jobs:
            t = pending.pop(0)
            running.append((t, subprocess.Popen([sys.executable, os.path.abspath(__file__), t, *passed, "--jobs", "1"],
                                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        time.sleep(0.5)
        for t, proc in list(running):
            if proc.poll() is not None:
                out = proc.stdout.read()
                print(out, end="", flush=True)
                broken += not os.path.exists(os.path.join(a.results, t + ".json"))
                running.remove((t, proc))
    return broken


def main():
    global BATCH
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_types", nargs="*", help="default: every bundled model type transformers 5 has a CausalLM "
                                                   "for")
    ap.add_argument("--variants", help="comma-separated variant names (default: all)")
    ap.add_argument("--keep", help="keep bases and adapters under this folder")
    ap.add_argument("--results", help="write each type's rows to RESULTS/TYPE.json, replacing that type's only; the "
                                      "table and --json then hold every type saved there")
    ap.add_argument("--render", action="store_true", help="run nothing: write --markdown/--json from --results")
    ap.add_argument("--jobs", type=int, default=1, help="model types run at once, each in a process of its own")
    ap.add_argument("--launcher", action="store_true", help="call ./fusebox for every command (a JVM each) instead "
                                                            "of one JVM running them all")
    ap.add_argument("--json", help="write the rows to this file")
    ap.add_argument("--markdown", help="write the summary and the table to this file; in a file with the markers "
                                       f"{BEGIN!r} and {END!r}, only between them")
    ap.add_argument("--fixtures", help="write each case's legacy adapter, the base's config.json and tensor list, and "
                                       "the row as test fixtures under this folder (TYPE/VARIANT/)")
    a = ap.parse_args()
    runnable, without_causal_lm = bundled_types()
    if a.render and not a.results:
        ap.error("--render needs --results")
    types = [] if a.render else (a.model_types or runnable)
    start = time.time()
    rows, broken = [], 0
    if a.jobs > 1 and len(types) > 1:
        a.results = a.results or tempfile.mkdtemp(prefix="oracle-lora-results-")
        broken = run_in_workers(types, a)
    else:
        if not a.launcher:
            fusebox("--version")  # the launcher builds the jars when the sources are newer; the batch JVM uses them
            BATCH = Batch()
        for t in types:
            began = time.time()
            type_rows = run_type(t, a)
            rows += type_rows
            if a.results:
                save_type(a.results, t, type_rows, time.time() - began, bool(a.variants))
    saved = None
    if a.results:
        rows, saved = load_results(a.results, runnable + without_causal_lm)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    if a.markdown:
        write_markdown(a.markdown, rows, saved, without_causal_lm)
    failed = sum(not r["ok"] for r in rows) + broken
    print(f"{len(rows)} cases, {failed} failed ({time.time() - start:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
