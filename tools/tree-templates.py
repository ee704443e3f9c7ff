"""Learns each bundled model type's module tree from transformers itself, as data, and prints goldens to test it.

    $(tools/setup-python-oracle.sh) tools/tree-templates.py [MODEL_TYPE ...]   # v5 layout, transformers 5.x
    $(tools/setup-legacy-world.sh) tools/tree-templates.py [MODEL_TYPE ...]   # legacy layout, transformers 4.x

The installed transformers decides the layout (5.x: v5, 4.x: legacy). For each model type the bundled rules name
(all of them when none is given) that this transformers has a CausalLM class for, or one of the multimodal types
in MULTIMODAL (built through their own class, vision and audio towers included):
  1. builds a tiny model on the meta device from config A (every layer kind the type has: dense and sparse MLPs,
     attention and mamba/linear-attention layers..., every eps and dropout field a value of its own, a padding
     token) and writes the template, converter/src/main/resources/dev/fusebox/converter/tree/LAYOUT/TYPE.json:
     one entry per module kind, found by its path with list indices as `#` and by what holds tensors directly
     under it (its parameters, persistent buffers and the children with tensors: `has`), giving its class, its
     children in definition order (with those holding no tensors, such as activations and rotary embeddings) and
     its extra_repr (and, for a ModuleList, which items hold no tensors) with each number bound to one of its
     tensors' dimensions (`{weight.1}`, a convolution's padding `{weight.2-1}`), a config.json field
     (`{config:rms_norm_eps}`, with the config class's default when config.json omits it), or left as text.
     nn.Linear and nn.Embedding are bound by their definitions, an activation to the config field naming it
     (`hidden_act`, with activation-names.json: what each name prints). Tied parameters (`tied`) are named so that
     a checkpoint without lm_head.weight still shows lm_head with the embedding's shape.
  2. builds two golden models from configs B1 and B2 (other layer counts, a dense first layer and none, other
     sizes, eps and padding) and writes, under converter/src/test/resources/dev/fusebox/converter/tree/goldens/
     LAYOUT/: TYPE-bN.txt, what print(model) prints, and TYPE-bN.json, the config.json save_pretrained would write
     and every state-dict key with its shape (tied ones left out, as save_pretrained leaves them out).
  3. checks that the template of A, rendered here the way Fusebox renders it, reproduces both goldens exactly, and
     says which types it could not learn (a module kind whose text differs between two modules it cannot tell
     apart by path and tensors) or build.
A dev-time tool: it needs torch and transformers; the product and `./fusebox test` stay pure Java.
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import re
import sys
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402
import transformers  # noqa: E402
from torch import nn  # noqa: E402
from transformers import CONFIG_MAPPING, AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText  # noqa: E402
from transformers.models.auto.modeling_auto import (  # noqa: E402
    MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES)

# Multimodal types built through their image-text-to-text class, from configs of their own.
MULTIMODAL = ("qwen3_vl_moe", "ernie4_5_vl_moe", "glm4v_moe", "kimi_k25", "qwen3_omni_moe", "qwen3_omni_moe_thinker")
# Those no auto class builds.
OWN_CLASS = {"qwen3_omni_moe": "Qwen3OmniMoeForConditionalGeneration",
             "qwen3_omni_moe_thinker": "Qwen3OmniMoeThinkerForConditionalGeneration"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREE = "dev/fusebox/converter/tree"
LAYOUT = "v5" if int(transformers.__version__.split(".")[0]) >= 5 else "legacy"
TEMPLATES = os.path.join(ROOT, "converter/src/main/resources", TREE, LAYOUT)
GOLDENS = os.path.join(ROOT, "converter/src/test/resources", TREE, "goldens", LAYOUT)

_spec = importlib.util.spec_from_file_location("oracle_families", os.path.join(ROOT, "tools/oracle-families.py"))
oracle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracle)

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# Fields that choose which layers are dense, sparse, attention, mamba...: stretched to a config's layer count.
DENSE_FIRST = {"first_k_dense_replace": 1, "num_dense_layers": 1, "moe_layer_start_index": 1}
# Per-layer choices the families' tiny configs leave to a default that a two-layer model does not show both sides of.
LAYER_KINDS = {"hy_v4": {"indexer_types": ["full", "shared"]}}
NO_DENSE = {"first_k_dense_replace": 0, "num_dense_layers": 0, "moe_layer_start_index": 0,
            "expert_layer_period": 1, "expert_layer_offset": 0}


# ---------------------------------------------------------------------------------------------------------------
# Configs


def layer_lists(config, layers, sparse_only):
    """Every per-layer list of the family's tiny config, cycled to LAYERS entries ("dense" made "sparse")."""
    out = {}
    for k, v in config.items():
        if isinstance(v, list) and len(v) == 2 and k != "mlp_only_layers":
            cycled = [v[i % len(v)] for i in range(layers)]
            out[k] = ["sparse" if sparse_only and x == "dense" else x for x in cycled]
    return out


def own_floats(defaults, variant, offset):
    """Every eps and dropout field a value of its own (OFFSET apart from another config's), so that each printed
    one names its field."""
    seed = {"a": 1, "b1": 3, "b2": 5}[variant] + offset
    floats = sorted(k for k, v in defaults.items() if isinstance(v, float) and ("eps" in k or "dropout" in k))
    return {k: round((seed + i) * 1e-6 + 7e-8, 12) if "eps" in k else round((seed + i) * 0.01 + 0.001, 6)
            for i, k in enumerate(floats)}


def config_kwargs(model_type, variant, defaults=None):
    """The keyword arguments of config A (variant 'a') or the golden configs B1, B2 (DEFAULTS: the config's
    defaults, when transformers has no name for it)."""
    defaults = defaults or AutoConfig.for_model(model_type).to_dict()
    base = {k: v for k, v in oracle.TINY.items() if k in defaults}
    if "kv_lora_rank" in defaults:
        base.update(oracle.LATENT_ATTENTION)
    base.update(oracle.SPECIFIC.get(model_type, {}))
    base.update(LAYER_KINDS.get(model_type, {}))
    layers = {"a": 2, "b1": 3, "b2": 4}[variant]
    sparse_only = variant == "b2"
    kw = dict(base)
    for f in ("num_hidden_layers", "num_layers"):
        if f in kw:
            kw[f] = layers
    kw.update(layer_lists(base, layers, sparse_only))
    for k, v in (NO_DENSE if sparse_only else DENSE_FIRST).items():
        if k in defaults or k in base:
            kw[k] = v
    if model_type == "ernie4_5_moe":
        kw["moe_layer_end_index"] = layers - 1
    kw.update(own_floats(defaults, variant, 0))
    if defaults.get("hidden_act") == "silu":  # A's names its field; B1's is another one
        kw["hidden_act"] = {"a": "gelu_new", "b1": "relu", "b2": "silu"}[variant]
    if "pad_token_id" in defaults:
        kw["pad_token_id"] = {"a": 11, "b1": 13, "b2": None}[variant]
    if variant != "a":
        for k, v in {"intermediate_size": 80, "ffn_hidden_size": 80, "moe_intermediate_size": 40,
                     "expert_ffn_hidden_size": 40, "shared_expert_intermediate_size": 24,
                     "shared_intermediate_size": 24, "vocab_size": 200 if variant == "b1" else 300}.items():
            if k in kw:
                kw[k] = v
    kw["tie_word_embeddings"] = variant != "b2"
    return kw


def multimodal_kwargs(model_type, variant):
    """Config A, B1 or B2 of a multimodal type: its text model as config_kwargs makes it for the text type, in
    text_config, beside a one- or two-block vision tower."""
    if model_type == "qwen3_omni_moe":  # the thinker only: enable_audio_output False builds no talker
        return dict(thinker_config=multimodal_kwargs("qwen3_omni_moe_thinker", variant), enable_audio_output=False)
    layers = {"a": 2, "b1": 3, "b2": 4}[variant]
    # transformers 4.57 names neither the thinker nor its text model: their defaults are the full model's
    defaults = (AutoConfig.for_model(model_type) if model_type in CONFIG_MAPPING
                else AutoConfig.for_model("qwen3_omni_moe").thinker_config)
    text_type = {"qwen3_vl_moe": "qwen3_vl_moe_text", "ernie4_5_vl_moe": "ernie4_5_vl_moe_text",
                 "glm4v_moe": "glm4v_moe_text", "kimi_k25": "deepseek_v3",
                 "qwen3_omni_moe_thinker": "qwen3_omni_moe_text"}[model_type]
    text = config_kwargs(text_type, variant, None if text_type in CONFIG_MAPPING
                         else defaults.text_config.to_dict())
    text.pop("tie_word_embeddings", None)
    sparse_only = variant == "b2"
    top = own_floats(defaults.to_dict(), variant, 40)
    vision_floats = own_floats(defaults.vision_config.to_dict(), variant, 20)
    out = multimodal_parts(model_type, variant, layers, text, sparse_only)
    out["vision_config"].update(vision_floats)
    if model_type == "qwen3_omni_moe_thinker":
        out["audio_config"].update(own_floats(defaults.audio_config.to_dict(), variant, 60))
    return {**top, **out}


def multimodal_parts(model_type, variant, layers, text, sparse_only):
    if model_type == "qwen3_omni_moe_thinker":
        text["rope_parameters"] = {"rope_theta": 10000.0, "rope_type": "default", "mrope_section": [2, 3, 3]}
        text["rope_scaling"] = text["rope_parameters"]  # its 4.x name
        vision = dict(depth=layers - 1, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=4,
                      out_hidden_size=text["hidden_size"], num_position_embeddings=16, deepstack_visual_indexes=[0])
        audio = dict(d_model=32, encoder_layers=layers - 1, encoder_attention_heads=2, encoder_ffn_dim=64,
                     num_mel_bins=16, output_dim=text["hidden_size"], downsample_hidden_size=16)
        return dict(text_config=text, vision_config=vision, audio_config=audio)
    if model_type == "qwen3_vl_moe":
        text["rope_parameters"] = {"rope_theta": 10000.0, "rope_type": "default", "mrope_section": [2, 3, 3]}
        text["rope_scaling"] = text["rope_parameters"]  # its 4.x name
        vision = dict(depth=layers - 1, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=4,
                      out_hidden_size=text["hidden_size"], num_position_embeddings=16, deepstack_visual_indexes=[0])
        return dict(text_config=text, vision_config=vision, image_token_id=250, video_token_id=251,
                    vision_start_token_id=252, vision_end_token_id=253)
    if model_type == "ernie4_5_vl_moe":
        text.update(moe_intermediate_size=[48, 32] if variant == "a" else [40, 24], moe_num_experts=oracle.EXPERTS,
                    mlp_layer_types=["sparse" if sparse_only or i else "dense" for i in range(layers)],
                    rope_parameters={"rope_theta": 10000.0, "rope_type": "default", "mrope_section": [3, 3, 2]})
        vision = dict(depth=layers - 1, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=4)
        return dict(text_config=text, vision_config=vision, tie_word_embeddings=variant != "b2")
    if model_type == "kimi_k25":
        vision = dict(num_hidden_layers=layers - 1, hidden_size=32, intermediate_size=64, num_attention_heads=2,
                      patch_size=4, pos_emb_height=8, pos_emb_width=8)
        return dict(text_config=text, vision_config=vision, projection_hidden_size=48, image_token_id=250,
                    video_token_id=251, vision_start_token_id=252, vision_end_token_id=253,
                    tie_word_embeddings=variant != "b2")
    text["rope_parameters"] = {"rope_theta": 10000.0, "rope_type": "default", "mrope_section": [2, 3, 3]}
    vision = dict(depth=layers - 1, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=4,
                  out_hidden_size=text["hidden_size"])
    return dict(text_config=text, vision_config=vision, image_token_id=250, video_token_id=251,
                image_start_token_id=252, image_end_token_id=253)


def build(model_type, variant):
    multimodal = model_type in MULTIMODAL
    kwargs = multimodal_kwargs(model_type, variant) if multimodal else config_kwargs(model_type, variant)
    config = AutoConfig.for_model(model_type, **kwargs)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()), torch.device("meta"):
        if model_type in OWN_CLASS:
            model = getattr(transformers, OWN_CLASS[model_type])(config)
        else:
            model = (AutoModelForImageTextToText if multimodal else AutoModelForCausalLM).from_config(config)
    return config, model


# ---------------------------------------------------------------------------------------------------------------
# Learning a template


def own_tensors(m):
    names = [n for n, p in m._parameters.items() if p is not None]
    names += [n for n, b in m._buffers.items() if b is not None and n not in m._non_persistent_buffers_set]
    return names


def holds_tensors(m, memo):
    if id(m) not in memo:
        memo[id(m)] = bool(own_tensors(m)) or any(
            c is not None and holds_tensors(c, memo) for c in m._modules.values())
    return memo[id(m)]


def is_index(name):
    return name.isdigit()


def flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + str(k) + "."))
        else:
            out[prefix + str(k)] = v
    return out


def number_text(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return repr(v) if isinstance(v, float) else str(v)


def bind_number(token, shapes, fields):
    """A placeholder for one printed number, or None to keep it as text."""
    for name, shape in shapes.items():
        for i, d in enumerate(shape):
            if str(d) == token:
                return f"{{{name}.{i}}}"
    for name, shape in shapes.items():
        for i, d in enumerate(shape):
            if str(d - 1) == token and d > 2:  # a convolution's padding, kernel_size - 1
                return f"{{{name}.{i}-1}}"
    if token not in ("0", "1", "0.0", "1.0"):
        named = [k for k, v in fields.items() if number_text(v) == token]
        if named:
            return f"{{config:{sorted(named, key=len)[0]}}}"
    return None


def repr_template(m, shapes, fields):
    extra = m.extra_repr()
    if "{" in extra or "}" in extra:
        raise Unlearnable(f"{type(m).__name__}'s extra_repr holds braces: {extra}")
    if type(m) is nn.Linear:
        return "in_features={weight.1}, out_features={weight.0}, bias=" + ("True" if m.bias is not None else "False")
    if type(m) is nn.Embedding:
        text = "{weight.0}, {weight.1}"
        if m.padding_idx is not None:
            named = [k for k, v in fields.items() if isinstance(v, int) and not isinstance(v, bool)
                     and v == m.padding_idx and k.endswith("pad_token_id")]
            text += "{padding_idx:" + sorted(named, key=len)[0] + "}" if named else f", padding_idx={m.padding_idx}"
        rest = extra.split(f"{m.num_embeddings}, {m.embedding_dim}", 1)[1]
        rest = re.sub(r"^, padding_idx=-?\d+", "", rest)
        if rest:
            raise Unlearnable(f"an Embedding prints more than its sizes and padding: {extra}")
        return text
    return NUMBER.sub(lambda t: bind_number(t.group(0), shapes, fields) or t.group(0), extra)


def activations():
    """Each activation name config.json may give (hidden_act...) with what print(model) shows for it."""
    from transformers.activations import ACT2CLS, ACT2FN
    out = {}
    for name in ACT2CLS:
        with contextlib.suppress(Exception), contextlib.redirect_stderr(io.StringIO()):
            fn = ACT2FN[name]
            if not list(fn.parameters()) and "\n" not in repr(fn):
                out[name] = repr(fn)
    return out


def activation_field(m, fields):
    """The config field whose activation name makes M (hidden_act...), or None when M is not chosen by one."""
    named = [k for k, v in fields.items() if isinstance(v, str) and ACTIVATIONS.get(v) == repr(m)]
    return sorted(named, key=lambda k: (k != "hidden_act", len(k)))[0] if named else None


class Unlearnable(Exception):
    pass


ACTIVATIONS = activations()


def learn(config, model):
    fields = flat(config.to_dict())
    memo = {}
    kinds = {}

    def visit(m, path):
        shapes = {n: list(getattr(m, n).shape) for n in own_tensors(m)}
        has = sorted(set(own_tensors(m)) | {"#" if is_index(n) else n for n, c in m._modules.items()
                                            if c is not None and holds_tensors(c, memo)})
        listed = isinstance(m, nn.ModuleList)
        if listed and (not has or any(not is_index(n) for n in m._modules)):
            raise Unlearnable(f"the ModuleList at {path or 'the root'} holds no tensors or names its items")
        kind = {"path": path, "has": has, "class": type(m).__name__}
        if listed:
            kind["list"] = True
            # items without tensors (an activation between two Linears) have no keys to tell they are there
            empty = [int(n) for n, c in m._modules.items() if c is not None and not holds_tensors(c, memo)]
            if empty:
                kind["tensorless_items"] = empty
        else:
            kind["children"] = [n for n, c in m._modules.items() if c is not None]
            act = activation_field(m, fields) if not has and not m._modules else None
            if act:
                kind["class"] = None
                kind["activation"] = act
            else:
                text = repr_template(m, shapes, fields)
                if text:
                    kind["repr"] = text
        key = (path, tuple(has))
        if key in kinds and kinds[key] != kind:
            raise Unlearnable(f"two modules at {path} hold the same tensors but print differently: "
                              f"{json.dumps(kinds[key])} and {json.dumps(kind)}")
        kinds[key] = kind
        for n, c in m._modules.items():
            if c is not None:
                visit(c, (path + "." if path else "") + ("#" if listed else n))

    visit(model, "")
    defaults = flat(type(config)().to_dict())
    bound = sorted({p.split(":", 1)[1] for k in kinds.values() for p in PLACEHOLDER.findall(k.get("repr", ""))
                    if ":" in p} | {k["activation"] for k in kinds.values() if "activation" in k})
    return {
        "model_type": config.model_type,
        "layout": LAYOUT,
        "transformers": transformers.__version__,
        "tied": tied_parameters(model),
        "config_defaults": {f: defaults.get(f) for f in bound},
        "modules": sorted(kinds.values(), key=lambda k: (k["path"], k["has"])),
    }


def tied_parameters(model):
    """Each parameter that is another one under a second name: {alias: source}, the source named first."""
    first = {}
    tied = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in first:
            tied[name] = first[id(p)]
        else:
            first[id(p)] = name
    return tied


# ---------------------------------------------------------------------------------------------------------------
# Rendering a template as Fusebox does (to check it here before Java does)


def key_tree(tensors):
    root = {"params": {}, "children": {}}
    for key, shape in tensors.items():
        parts = key.split(".")
        node = root
        for p in parts[:-1]:
            node = node["children"].setdefault(p, {"params": {}, "children": {}})
        node["params"][parts[-1]] = shape
    return root


def render(template, tensors, config_json):
    tensors = dict(tensors)
    for alias, source in template["tied"].items():
        if alias not in tensors and source in tensors:
            tensors[alias] = tensors[source]
    kinds = {(k["path"], tuple(k["has"])): k for k in template["modules"]}
    fields = flat(config_json)

    def value(field):
        return fields[field] if field in fields else template["config_defaults"][field]

    def fill(text, params):
        def one(match):
            p = match.group(1)
            if p.startswith("config:"):
                return number_text(value(p[7:]))
            if p.startswith("padding_idx:"):
                v = value(p[12:])
                return "" if v is None else f", padding_idx={v}"
            name, _, rest = p.rpartition(".")
            dim, _, minus = rest.partition("-")
            return str(params[name][int(dim)] - (1 if minus else 0))
        return PLACEHOLDER.sub(one, text)

    def shape(node, path, name):
        has = sorted(set(node["params"]) | {"#" if is_index(n) else n for n in node["children"]})
        kind = kinds.get((path, tuple(has)))
        if kind is None:
            raise Unlearnable(f"no module kind at {path} holding {has}")
        if kind.get("list"):
            for i in kind.get("tensorless_items", []):
                node["children"].setdefault(str(i), {"params": {}, "children": {}})
            items = sorted(node["children"].items(), key=lambda kv: int(kv[0]))
            return {"class": "ModuleList", "list": True,
                    "children": [(n, shape(c, path + ".#", n)) for n, c in items]}
        children = []
        for n in kind["children"]:
            child = node["children"].get(n, {"params": {}, "children": {}})
            children.append((n, shape(child, (path + "." if path else "") + n, n)))
        if "activation" in kind:
            cls, _, rest = ACTIVATIONS[value(kind["activation"])].partition("(")
            return {"class": cls, "repr": rest[:-1], "children": []}
        return {"class": kind["class"], "repr": fill(kind.get("repr", ""), node["params"]), "children": children}

    return print_tree(shape(key_tree(tensors), "", "")) + "\n"


def add_indent(s):
    lines = s.split("\n")
    return lines[0] + "".join("\n  " + line for line in lines[1:])


def print_tree(n):
    """torch's Module.__repr__ and ModuleList.__repr__ (which folds equal neighbours into `(0-2): 3 x ...`)."""
    if n.get("list"):
        texts = [(name, print_tree(c)) for name, c in n["children"]]
        lines, i = [], 0
        while i < len(texts):
            j = i
            while j + 1 < len(texts) and texts[j + 1][1] == texts[i][1]:
                j += 1
            head = f"({texts[i][0]})" if i == j else f"({texts[i][0]}-{texts[j][0]}): {j - i + 1} x"
            lines.append(add_indent(f"{head}: {texts[i][1]}" if i == j else f"{head} {texts[i][1]}"))
            i = j + 1
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"
    extra = n["repr"].split("\n") if n["repr"] else []
    child_lines = [f"({name}): " + add_indent(print_tree(c)) for name, c in n["children"]]
    lines = extra + child_lines
    body = ""
    if lines:
        body = extra[0] if len(extra) == 1 and not child_lines else "\n  " + "\n  ".join(lines) + "\n"
    return n["class"] + "(" + body + ")"


# ---------------------------------------------------------------------------------------------------------------


def saved_tensors(config, model):
    """The state-dict keys and shapes save_pretrained would write (tied aliases left out when tied)."""
    tied = tied_parameters(model) if getattr(config, "tie_word_embeddings", False) else {}
    return {k: list(t.shape) for k, t in model.state_dict().items() if k not in tied}


def write_json(path, obj, listed):
    """OBJ as JSON, the entries of its list or map LISTED one to a line (a module kind, a tensor)."""
    head = {k: v for k, v in obj.items() if k != listed}
    items = obj[listed]
    if isinstance(items, dict):
        body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in items.items())
        body = "{\n" + body + "\n }"
    else:
        body = "[\n" + ",\n".join("  " + json.dumps(v) for v in items) + "\n ]"
    text = json.dumps(head, indent=1)[:-2] + f",\n {json.dumps(listed)}: {body}\n}}\n"
    with open(path, "w") as f:
        f.write(text)


def one_type(model_type):
    config_a, model_a = build(model_type, "a")
    template = learn(config_a, model_a)
    goldens = []
    for variant in ("b1", "b2"):
        config_b, model_b = build(model_type, variant)
        text = str(model_b) + "\n"
        config_json = json.loads(config_b.to_json_string(use_diff=True))
        tensors = saved_tensors(config_b, model_b)
        got = render(template, tensors, config_json)
        if got != text:
            diff = next(i for i, (x, y) in enumerate(zip(got.split("\n"), text.split("\n"))) if x != y)
            raise Unlearnable(f"the template of config A renders {variant} otherwise at line {diff + 1}: "
                              f"{got.split(chr(10))[diff].strip()!r} against {text.split(chr(10))[diff].strip()!r}")
        goldens.append((variant, text, {"config": config_json, "tensors": tensors}))
    os.makedirs(TEMPLATES, exist_ok=True)
    with open(os.path.join(TEMPLATES, "activation-names.json"), "w") as f:
        json.dump(ACTIVATIONS, f, indent=1)
        f.write("\n")
    os.makedirs(GOLDENS, exist_ok=True)
    write_json(os.path.join(TEMPLATES, model_type + ".json"), template, "modules")
    for variant, text, data in goldens:
        with open(os.path.join(GOLDENS, f"{model_type}-{variant}.txt"), "w") as f:
            f.write(text)
        write_json(os.path.join(GOLDENS, f"{model_type}-{variant}.json"), data, "tensors")
    return f"{len(template['modules'])} module kinds"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_types", nargs="*", help="only these (default: every type the bundled rules name)")
    a = ap.parse_args()
    wanted = a.model_types or list(oracle.rule_model_types())
    print(f"transformers {transformers.__version__} ({LAYOUT} layout), torch {torch.__version__}")
    failed = 0
    for t in wanted:
        if t not in CONFIG_MAPPING:
            print(f"{t:24} skipped: this transformers does not know the model type")
            continue
        if t not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not (t in MULTIMODAL and (
                t in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES or hasattr(transformers, OWN_CLASS.get(t, "-")))):
            print(f"{t:24} skipped: this transformers has no CausalLM class for it")
            continue
        try:
            print(f"{t:24} written: {one_type(t)}")
        except Unlearnable as e:
            print(f"{t:24} FAIL: {e}")
            failed += 1
        except Exception as e:  # the tiny config, or transformers itself
            print(f"{t:24} FAIL: {type(e).__name__}: {str(e)[:300]}")
            failed += 1
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
